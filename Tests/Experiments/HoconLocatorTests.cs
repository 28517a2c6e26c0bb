using TrainManager.Experiments;
using static TrainManager.Tests.Experiments.ExperimentText;

namespace TrainManager.Tests.Experiments;

public sealed class HoconLocatorTests
{
    [Fact]
    public void Nested_blocks_and_dotted_keys_give_the_same_key_paths()
    {
        var locator = HoconLocator.Scan(Lines("model {", "  type = cnn", "  args { hidden = 3 }", "}", "data.dataset = x"));

        Assert.Null(locator.SyntaxError);
        Assert.Equal(1, locator.LineOf("model"));
        Assert.Equal(2, locator.LineOf("model.type"));
        Assert.Equal(3, locator.LineOf("model.args.hidden"));
        Assert.Equal(5, locator.LineOf("data"));
        Assert.Equal(5, locator.LineOf("data.dataset"));
    }

    [Fact]
    public void List_elements_are_indexed_and_their_keys_located()
    {
        var locator = HoconLocator.Scan(Lines("extensions = [", "  { type = progress }", "  {", "    type = loss-plot", "  }", "]"));

        Assert.Equal(2, locator.LineOf("extensions[0].type"));
        Assert.Equal(3, locator.LineOf("extensions[1]"));
        Assert.Equal(4, locator.LineOf("extensions[1].type"));
    }

    [Fact]
    public void The_last_definition_of_a_key_is_the_one_located()
    {
        var locator = HoconLocator.Scan(Lines("epochs = 1", "epochs = 2"));

        Assert.Equal(2, locator.LineOf("epochs"));
    }

    [Fact]
    public void A_key_that_is_not_in_the_text_falls_back_to_its_enclosing_block()
    {
        var locator = HoconLocator.Scan(Lines("", "model {", "  args { }", "}"));

        Assert.Equal(("model.args", 3), locator.NearestDefined("model.args.hidden"));
        Assert.Equal(("model", 2), locator.NearestDefined("model.type"));
        Assert.Null(locator.NearestDefined("epochs"));
    }

    [Fact]
    public void Comments_strings_and_triple_quoted_text_are_skipped()
    {
        var locator = HoconLocator.Scan(Lines("# a { comment", "// another }", "a = \"}{][\"", "b = \"\"\"two", "lines\"\"\"", "c = 1"));

        Assert.Null(locator.SyntaxError);
        Assert.Equal(3, locator.LineOf("a"));
        Assert.Equal(6, locator.LineOf("c"));
    }

    [Fact]
    public void Substitutions_and_includes_are_accepted()
    {
        var locator = HoconLocator.Scan(Lines("include \"other.conf\"", "a = 1", "b = ${a}", "c = ${?HOME}/x"));

        Assert.Null(locator.SyntaxError);
        Assert.Equal(4, locator.LineOf("c"));
    }
}
