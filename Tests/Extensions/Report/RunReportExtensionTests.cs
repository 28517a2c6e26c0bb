using TrainManager.Experiments;
using TrainManager.Extensions.Report;
using TrainManager.Models;
using TrainManager.Stages;
using TrainManager.Testing;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Extensions.Report;

public sealed class RunReportExtensionTests : ExtensionTestKit
{
    private static readonly ModelSpec Spec = new("mlp", new Dictionary<string, object?> { ["hidden"] = new long[] { 32 }, ["dropout"] = 0.1 });

    private static string RunDirectory(string experimentHocon = "name = fashion-mnist-mlp\nseed = 7\n")
    {
        var run = Path.Combine(Path.GetTempPath(), $"tm-report-{Guid.NewGuid().ToString("N")[..8]}", "20250101-120000-fashion-mnist-mlp-ab12");
        Directory.CreateDirectory(Path.Combine(run, "plots"));
        File.WriteAllText(Path.Combine(run, "experiment.hocon"), experimentHocon);
        return run;
    }

    private static IReadOnlyDictionary<string, double> Metrics(int epoch) => new Dictionary<string, double>
    {
        ["train_loss"] = 1.0 / (epoch + 1), ["test_loss"] = 1.2 / (epoch + 1), ["test_accuracy"] = 0.70 + 0.05 * epoch,
        ["lr"] = 1e-3, ["samples_per_second"] = 12_345, ["epoch_seconds"] = 3.25,
    };

    /// <summary>Drives a fit of <paramref name="epochs"/> epochs with the fixtures the trainer provides.</summary>
    private static void DriveFit(StageDriver driver, string? runDir, nn.Module model, int epochs, Action<int>? inEpoch = null)
    {
        var history = new List<IReadOnlyDictionary<string, double>>();
        var task = TrainManager.Tasks.ConfiguredTask.Create(new TrainManager.Tasks.ClassificationTask(), new TaskSection(), new CheckpointSection());
        using (driver.Enter("fit", ("run_dir", runDir), ("model", model), ("model_spec", Spec), ("device", CPU),
                   ("epochs", epochs), ("batch_size", 64), ("seed", 7L), ("world_size", 1), ("task", task), ("validation_data", null)))
        {
            for (var epoch = 0; epoch < epochs; epoch++)
                using (driver.Enter("epoch", ("epoch", epoch + 1)))
                {
                    inEpoch?.Invoke(epoch);
                    driver.Fixtures["metrics"] = Metrics(epoch);
                    history.Add(Metrics(epoch));
                }
            var last = history[^1];
            var final = new Dictionary<string, double> { ["train_loss"] = last["train_loss"], ["test_loss"] = last["test_loss"], ["test_accuracy"] = last["test_accuracy"] };
            driver.Fixtures["result"] = new FitResult(epochs, final, TimeSpan.FromSeconds(125), history,
                runDir is null ? null : Path.Combine(runDir, "checkpoints", "epoch-0003.ckpt"), null) { BestMetric = "test_accuracy", BestMode = "max" };
        }
    }

    [Fact]
    public void The_report_holds_the_key_facts_the_metrics_per_epoch_the_pictures_and_links()
    {
        var run = RunDirectory();
        File.WriteAllBytes(Path.Combine(run, "plots", "loss-batches.png"), [0x89, 0x50]);
        File.WriteAllBytes(Path.Combine(run, "plots", "gradients-histogram-step-120.png"), [0x89, 0x50]);
        File.WriteAllBytes(Path.Combine(run, "plots", "gradients-histogram-step-20.png"), [0x89, 0x50]);
        File.WriteAllText(Path.Combine(run, "instantiation.json"), "{}");
        Directory.CreateDirectory(Path.Combine(run, "tb"));
        using var model = nn.Linear(10, 3);   // 33 parameters
        var driver = Drive(TrainerStages.Tree, new RunReportExtension());

        DriveFit(driver, run, model, epochs: 3);

        var html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.Contains("<h1>fashion-mnist-mlp</h1>", html);
        Assert.Contains("<code>20250101-120000-fashion-mnist-mlp-ab12</code>", html);
        Assert.Contains("Completed: 3 of 3 epochs.", html);
        Assert.Contains("mlp(dropout=0.1, hidden=[32])", html);
        Assert.Contains("<dt>parameters</dt><dd>33</dd>", html);
        Assert.Contains("<dt>seed</dt><dd>7</dd>", html);
        Assert.Contains("<dt>device</dt><dd>cpu</dd>", html);
        Assert.Contains("<dt>duration</dt><dd>2 min 5 s</dd>", html);
        Assert.Contains("<dt>final test accuracy</dt><dd>80.00 %</dd>", html);
        Assert.Equal(3, CountOf(html, "<tr><td>") + CountOf(html, "<tr class=\"best\""));
        Assert.Contains("<td>0.3333</td>", html);                       // epoch 2's train loss
        Assert.Contains("<tr class=\"best\" title=\"highest test accuracy\"><td>3</td>", html);
        Assert.Contains("<img src=\"plots/loss-batches.png\"", html);
        Assert.True(html.IndexOf("step-20.png", StringComparison.Ordinal) < html.IndexOf("step-120.png", StringComparison.Ordinal),
            "histograms are ordered by step");
        Assert.Contains("href=\"experiment.hocon\"", html);
        Assert.Contains("href=\"instantiation.json\"", html);
        Assert.Contains("href=\"tb/\"", html);
        Assert.DoesNotContain("href=\"provenance/\"", html);          // only what exists is linked
        Assert.Contains("href=\"checkpoints/epoch-0003.ckpt\"", html);
        Assert.DoesNotContain("http", html);                            // nothing from outside
    }

    [Fact]
    public void Metrics_come_from_the_metrics_file_which_also_holds_the_epochs_before_a_resume()
    {
        var run = RunDirectory();
        Directory.CreateDirectory(Path.Combine(run, "metrics"));
        File.WriteAllLines(Path.Combine(run, "metrics", "epochs.jsonl"),
        [
            """{"epoch":1,"train_loss":0.9,"test_loss":null,"test_accuracy":0.61}""",
            """{"epoch":2,"train_loss":0.5,"test_loss":0.6,"test_accuracy":0.72}""",
        ]);
        using var model = nn.Linear(2, 2);
        var driver = Drive(TrainerStages.Tree, new RunReportExtension());

        DriveFit(driver, run, model, epochs: 1);

        var html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.Contains("<tr><td>1</td><td>0.9</td><td><span class=\"na\">—</span></td><td>61.00 %</td></tr>", html);
        Assert.Contains("<td>72.00 %</td>", html);
    }

    [Fact]
    public void Values_from_the_run_are_html_encoded()
    {
        var run = RunDirectory("name = \"<script>alert(1)</script>\"\n");
        using var model = nn.Linear(2, 2);
        var driver = Drive(TrainerStages.Tree, new RunReportExtension());

        DriveFit(driver, run, model, epochs: 1);

        var html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
    }

    [Fact]
    public void A_failed_fit_gets_a_report_that_names_the_stage_and_the_error()
    {
        var run = RunDirectory();
        using var model = nn.Linear(2, 2);
        var driver = Drive(TrainerStages.Tree, new RunReportExtension());

        Assert.Throws<InvalidOperationException>(() => DriveFit(driver, run, model, epochs: 3, inEpoch: epoch =>
        {
            if (epoch == 1) throw new InvalidOperationException("loss became NaN");
        }));

        var html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.Contains("class=\"status failed\"", html);
        Assert.Contains("Failed in stage fit/epoch: loss became NaN", html);
        Assert.Contains("<tr class=\"best\" title=\"highest test accuracy\"><td>1</td>", html);   // the epoch that finished, by the task's metric
    }

    [Fact]
    public void The_experiment_name_given_by_the_catalog_wins_over_the_file()
    {
        var run = RunDirectory("this is { not HOCON");
        using var model = nn.Linear(2, 2);
        var driver = Drive(TrainerStages.Tree, new RunReportExtension("cnn-baseline"));

        DriveFit(driver, run, model, epochs: 1);

        Assert.Contains("<h1>cnn-baseline</h1>", File.ReadAllText(Path.Combine(run, "report.html")));
    }

    [Fact]
    public void A_cluster_run_that_trained_with_a_bundle_shows_its_hash_project_and_commit_and_links_the_build()
    {
        var run = RunDirectory();
        var hash = "3f2a9c01b7de" + new string('5', 52);
        new RecordedBundle(hash, 20_000_000, "Shapes.csproj", "Shapes.dll", "0.9.0", "a1b2c3d4e5f6+changes").WriteTo(run);
        Directory.CreateDirectory(Path.Combine(run, "code", "bin"));
        using var model = nn.Linear(10, 3);

        DriveFit(Drive(TrainerStages.Tree, new RunReportExtension()), run, model, epochs: 1);

        var html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.Contains($"<dt>code bundle</dt><dd><code>Shapes.csproj</code> bundle <code title=\"sha256 {hash}\">3f2a9c01b7de</code>, commit <code>a1b2c3d4e5f6+changes</code>, framework 0.9.0</dd>", html);
        Assert.Contains("href=\"code/bundle.json\"", html);
        Assert.Contains("href=\"code/bin/\"", html);
    }

    [Fact]
    public void A_damaged_bundle_record_leaves_the_fact_out_and_the_page_still_written()
    {
        var run = RunDirectory();
        Directory.CreateDirectory(Path.Combine(run, "code"));
        File.WriteAllText(RecordedBundle.PathIn(run), "{ broken");
        using var model = nn.Linear(10, 3);

        DriveFit(Drive(TrainerStages.Tree, new RunReportExtension()), run, model, epochs: 1);

        var html = File.ReadAllText(Path.Combine(run, "report.html"));
        Assert.DoesNotContain("<dt>code bundle</dt>", html);
        Assert.Contains("href=\"code/bundle.json\"", html);
    }

    private static int CountOf(string text, string part) =>
        (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;
}
