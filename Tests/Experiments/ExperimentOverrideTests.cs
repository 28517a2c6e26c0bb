using TrainManager.Experiments;
using static TrainManager.Tests.Experiments.ExperimentText;

namespace TrainManager.Tests.Experiments;

public sealed class ExperimentOverrideTests
{
    static readonly string Base = MinimalWith(
        "model.args { hidden = [256, 128], dropout = 0.2 }",
        "optimizer { type = adam, lr = 0.001 }");

    [Fact]
    public void An_override_replaces_the_value_from_the_file_and_is_recorded()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["epochs=5"]);

        Assert.Equal(5, e.Epochs);
        Assert.Equal([new KeyValuePair<string, string>("epochs", "5")], e.Overrides);
    }

    [Fact]
    public void A_model_argument_override_replaces_that_list_and_keeps_the_other_arguments()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["model.args.hidden=[64]"]);

        Assert.Equal(new List<object?> { 64L }, e.Model.Arguments["hidden"]);
        Assert.Equal(0.2, e.Model.Arguments["dropout"]);
        Assert.Equal("mlp", e.Model.Type);
    }

    [Fact]
    public void A_new_model_argument_can_be_added_because_arguments_are_free_form()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["model.args.batch-norm=true"]);

        Assert.Equal(true, e.Model.Arguments["batch-norm"]);
    }

    [Fact]
    public void Setting_a_block_merges_into_the_block_from_the_file()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["model.args={}"]);

        Assert.Equal(["dropout", "hidden"], e.Model.Arguments.Keys.Order());
    }

    [Fact]
    public void A_replacing_override_drops_what_the_block_held_before()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["model.args:={hidden=[64]}"]);

        Assert.Equal(["hidden"], e.Model.Arguments.Keys);
        Assert.Equal(new List<object?> { 64L }, e.Model.Arguments["hidden"]);
    }

    [Fact]
    public void A_replacing_override_with_an_empty_block_empties_it()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["model.args:={}"]);

        Assert.Empty(e.Model.Arguments);
    }

    [Fact]
    public void A_replacing_override_is_recorded_as_written_and_the_record_loads_back_the_same()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["model.args:={hidden=[64]}"]);

        Assert.Contains("# Override: --set model.args:={hidden=[64]}", e.ResolvedHocon);
        Assert.Equal(["hidden"], ExperimentLoader.Parse(e.ResolvedHocon).Model.Arguments.Keys);
    }

    [Fact]
    public void A_replacing_override_of_a_key_the_file_lacks_sets_it()
    {
        var e = ExperimentLoader.Parse(MinimalWith(), "exp.hocon", ["scheduler:={type=step, step-size=2}"]);

        Assert.Equal(("step", 2), (e.Scheduler.Type, e.Scheduler.StepSize));
    }

    [Fact]
    public void Later_overrides_win()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["optimizer.lr=0.1", "optimizer.lr=0.01"]);

        Assert.Equal(0.01, e.Optimizer.LearningRate);
        Assert.Equal("adam", e.Optimizer.Type);
    }

    [Theory]
    [InlineData("model.args.dropout=0.7", "dropout", 0.7)]
    [InlineData("model.args.flag=true", "flag", true)]
    [InlineData("model.args.label=\"two words\"", "label", "two words")]
    [InlineData("model.args.label=plain text", "label", "plain text")]
    [InlineData("model.args.depth=3", "depth", 3L)]
    public void Override_values_are_read_as_hocon(string assignment, string argument, object expected) =>
        Assert.Equal(expected, ExperimentLoader.Parse(Base, "exp.hocon", [assignment]).Model.Arguments[argument]);

    [Fact]
    public void A_list_override_of_two_numbers_is_a_list()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["model.args.hidden=[64,32]"]);

        Assert.Equal(new List<object?> { 64L, 32L }, e.Model.Arguments["hidden"]);
    }

    [Fact]
    public void Text_with_characters_special_to_hocon_needs_no_quotes_on_the_command_line()
    {
        var e = ExperimentLoader.Parse(Base, "exp.hocon", ["device=cuda:1", "name=run#2", "data.path=/data//fm"]);

        Assert.Equal("cuda:1", e.Device);
        Assert.Equal("run#2", e.Name);
        Assert.Equal("/data//fm", e.Data.Path);
    }

    [Fact]
    public void An_override_of_an_unknown_key_is_refused_and_names_the_override()
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(Base, "exp.hocon", ["epochs=3", "optimizer.learning-rate=0.1"]));

        Assert.Equal("--set optimizer.learning-rate=0.1", error.Origin);
        Assert.Null(error.Line);
        Assert.Equal("optimizer.learning-rate", error.KeyPath);
        Assert.StartsWith("--set optimizer.learning-rate=0.1: unknown key 'optimizer.learning-rate'.", error.Message);
        Assert.Contains("Known keys in 'optimizer': type, lr, momentum", error.Message);
    }

    [Fact]
    public void An_override_with_a_value_of_the_wrong_type_names_the_override()
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(Base, "exp.hocon", ["batch-size=lots"]));

        Assert.StartsWith("--set batch-size=lots: 'batch-size' must be a whole number", error.Message);
    }

    [Fact]
    public void A_value_from_the_file_is_still_located_in_the_file_when_other_keys_are_overridden()
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith("seed = x"), "exp.hocon", ["epochs=3"]));

        Assert.Equal("exp.hocon", error.Origin);
        Assert.Equal(5, error.Line);
    }

    [Theory]
    [InlineData("epochs", "has no '='")]
    [InlineData("=5", "is not a key path")]
    [InlineData("model..type=cnn", "is not a key path")]
    [InlineData("model.args.hidden=[64", "the '[' on this line is never closed")]
    [InlineData("name=", "'name' has no value")]
    public void Malformed_overrides_are_refused_with_what_to_write(string assignment, string message)
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(Base, "exp.hocon", [assignment]));

        Assert.StartsWith("--set ", error.Message);
        Assert.Contains(message, error.Message);
    }
}
