using TrainManager.Experiments;
using static TrainManager.Tests.Experiments.ExperimentText;

namespace TrainManager.Tests.Experiments;

public sealed class ExperimentIncludeTests
{
    static string Write(string folder, string name, string text)
    {
        var path = Path.Combine(folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_plain_include_merges_the_other_file_and_later_keys_win()
    {
        var folder = TempDirectory();
        Write(folder, "base.hocon", MinimalWith("seed = 7"));
        var main = Write(folder, "main.hocon", Lines("include \"base.hocon\"", "epochs = 5"));

        var e = ExperimentLoader.Load(main);

        Assert.Equal((5, 32, 7L), (e.Epochs, e.BatchSize, e.Seed));
    }

    [Fact]
    public void An_include_file_form_is_read_like_the_plain_form()
    {
        var folder = TempDirectory();
        Write(folder, "base.hocon", MinimalWith());
        var main = Write(folder, "main.hocon", Lines("include file(\"base.hocon\")", "seed = 9"));

        Assert.Equal(9, ExperimentLoader.Load(main).Seed);
    }

    [Fact]
    public void An_include_required_form_is_read_like_the_plain_form()
    {
        var folder = TempDirectory();
        Write(folder, "base.hocon", MinimalWith());
        var main = Write(folder, "main.hocon", Lines("include required(file(\"base.hocon\"))", "include required(\"base.hocon\")"));

        Assert.Equal(2, ExperimentLoader.Load(main).Epochs);
    }

    [Fact]
    public void An_include_inside_a_block_lands_in_that_block()
    {
        var folder = TempDirectory();
        Write(folder, "optimizer.hocon", Lines("type = sgd", "lr = 0.25"));
        var main = Write(folder, "main.hocon", MinimalWith("optimizer {", "  include \"optimizer.hocon\"", "}"));

        var e = ExperimentLoader.Load(main);

        Assert.Equal(("sgd", 0.25), (e.Optimizer.Type, e.Optimizer.LearningRate));
    }

    [Fact]
    public void An_included_file_resolves_its_own_includes_relative_to_its_own_folder()
    {
        var folder = TempDirectory();
        Write(folder, "shared/base.hocon", Lines("include \"required.hocon\"", "seed = 3"));
        Write(folder, "shared/required.hocon", MinimalWith());
        var main = Write(folder, "experiments/main.hocon", Lines("include \"../shared/base.hocon\""));

        Assert.Equal(3, ExperimentLoader.Load(main).Seed);
    }

    [Fact]
    public void A_missing_included_file_is_an_error_naming_the_including_file_and_line()
    {
        var folder = TempDirectory();
        var main = Write(folder, "main.hocon", MinimalWith("include \"nowhere.hocon\""));

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Load(main));

        Assert.Equal(main, Path.GetFullPath(error.Origin!));
        Assert.Equal(5, error.Line);
        Assert.Contains("nowhere.hocon", error.Problem);
    }

    [Fact]
    public void An_unknown_key_in_an_included_file_is_located_in_that_file()
    {
        var folder = TempDirectory();
        var included = Write(folder, "base.hocon", MinimalWith("epochz = 3"));
        var main = Write(folder, "main.hocon", Lines("include \"base.hocon\""));

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Load(main));

        Assert.Equal(included, Path.GetFullPath(error.Origin!));
        Assert.Equal(5, error.Line);
    }

    [Fact]
    public void A_file_that_includes_itself_is_an_error_not_a_hang()
    {
        var folder = TempDirectory();
        var main = Write(folder, "main.hocon", MinimalWith("include \"main.hocon\""));

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Load(main));

        Assert.Contains("includes itself", error.Problem);
    }

    [Fact]
    public void The_resolved_hocon_of_an_experiment_with_includes_stands_alone()
    {
        var folder = TempDirectory();
        Write(folder, "base.hocon", MinimalWith());
        var main = Write(folder, "main.hocon", Lines("include \"base.hocon\""));

        var resolved = ExperimentLoader.Load(main).ResolvedHocon;

        Assert.DoesNotContain("include", resolved);
        Assert.Equal(2, ExperimentLoader.Parse(resolved).Epochs);
    }
}
