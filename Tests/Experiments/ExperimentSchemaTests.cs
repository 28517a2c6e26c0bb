using TrainManager.Cli;
using TrainManager.Experiments;
using TrainManager.Tests.Cli;
using static TrainManager.Tests.Experiments.ExperimentText;

namespace TrainManager.Tests.Experiments;

public sealed class ExperimentSchemaTests
{
    static string ReferenceFile => Path.Combine(RepositoryRoot, "docs", "experiment-keys.md");

    [Fact]
    public void The_committed_key_reference_is_the_one_the_schema_prints()
    {
        var committed = File.Exists(ReferenceFile) ? File.ReadAllText(ReferenceFile).ReplaceLineEndings("\n") : "";

        Assert.True(committed == ExperimentSchema.Markdown(),
            "docs/experiment-keys.md is stale: ExperimentSchema changed. Regenerate it from the repository root with "
            + "`dotnet run --project Cli -- keys > docs/experiment-keys.md` and commit it.");
    }

    [Fact]
    public void The_keys_verb_prints_the_schema_reference()
    {
        var console = new RecordingConsole();

        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["keys"], console.Console));

        Assert.Equal(ExperimentSchema.Markdown(), console.Output);
    }

    [Fact]
    public void A_key_the_schema_does_not_list_is_refused_with_the_schema_keys_of_its_block()
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith("data.train-limt = 3"), components: TestComponents.Catalog));

        Assert.Contains(string.Join(", ", ExperimentSchema.KeysIn("data")), error.Problem);
    }

    [Fact]
    public void Every_key_in_the_schema_is_read_and_written_back_to_the_resolved_experiment()
    {
        // One file that sets every leaf key the schema lists (free-form blocks aside) must load.
        var e = ExperimentLoader.Parse(components: TestComponents.Catalog, hoconText: Lines(
            "name = all", "seed = 1", "device = cpu", "epochs = 1", "batch-size = 2", "eval-batch-size = 4", "threads = 1",
            "model { type = mlp, args { } }",
            "data { dataset = fashion-mnist, path = /d, train-limit = 1, test-limit = 1 }",
            "optimizer { type = sgd, lr = 0.1, momentum = 0.9, nesterov = true, weight-decay = 0, beta1 = 0.9, beta2 = 0.99 }",
            "scheduler { type = step, step-size = 1, gamma = 0.5, t-max = 0, min-lr = 0 }",
            "gradient-clip = 1", "accumulate = 1", "checkpoint { every-epochs = 1, keep = 1, best = accuracy, best-mode = max }", "code { project = p }", "extensions = [ { type = progress } ]",
            "workers = 1", "data-parallel { min-workers = 1, replacement-wait = 1 s, bucket-size = 1 MiB, timeout = 1 s }", "runs-dir = r"));
        var written = Akka.Configuration.ConfigurationFactory.ParseString(e.ResolvedHocon);

        var missing = ExperimentSchema.Keys.Where(k => !k.Path.Contains("[]") && k.Type != "block (free-form)" && !k.Type.EndsWith("(older name)", StringComparison.Ordinal) && !written.HasPath(k.Path));

        Assert.Empty(missing);
    }

    [Fact]
    public void Every_key_has_a_type_and_a_one_line_description()
    {
        Assert.All(ExperimentSchema.Keys, k =>
        {
            Assert.False(string.IsNullOrWhiteSpace(k.Type), k.Path);
            Assert.False(string.IsNullOrWhiteSpace(k.Description) || k.Description.Contains('\n'), k.Path);
        });
    }
}
