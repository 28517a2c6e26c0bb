using System.Collections.Concurrent;
using TorchSharp;
using TrainManager.Extensions.Plots;
using TrainManager.Testing;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Extensions.Plots;

public sealed class GradientPlotExtensionTests : ExtensionTestKit
{
    /// <summary>Two layers, so that one can misbehave while the other is fine: fc1.weight, fc1.bias, out.weight, out.bias.</summary>
    private static nn.Module<Tensor, Tensor> TwoLayers() =>
        nn.Sequential(("fc1", nn.Linear(4, 8)), ("relu", nn.ReLU()), ("out", nn.Linear(8, 3)));

    private static void SetGradients(nn.Module model, Func<string, TorchSharp.Modules.Parameter, Tensor> gradient)
    {
        foreach (var (name, parameter) in model.named_parameters())
            parameter.grad = gradient(name, parameter);
    }

    /// <summary>Drives fit > epoch > train > batch > backward for <paramref name="steps"/> steps, setting the gradients
    /// before each backward stage ends, as the trainer's backward pass would.</summary>
    private static void DriveBackward(StageDriver driver, nn.Module model, string? runDir, int steps, Action<long> setGradients,
        int epochs = 1)
    {
        using (driver.Enter("fit", ("run_dir", runDir), ("model", model), ("epochs", epochs), ("batches_per_epoch", steps / epochs)))
            for (var epoch = 0; epoch < epochs; epoch++)
                using (driver.Enter("epoch", ("epoch", epoch)))
                using (driver.Enter("train"))
                    for (var b = 0; b < steps / epochs; b++)
                    {
                        var step = (long)(epoch * (steps / epochs) + b);
                        using var scope = NewDisposeScope();
                        using (driver.Enter("batch", ("batch_index", b), ("step", step)))
                            driver.Run("backward", [], _ => setGradients(step));
                    }
    }

    private static (GradientPlotExtension Extension, ConcurrentQueue<string> Log) Extension(GradientPlotOptions? options = null)
    {
        var log = new ConcurrentQueue<string>();
        return (new GradientPlotExtension(options ?? new GradientPlotOptions { Every = 1 }, log.Enqueue), log);
    }

    [Fact]
    public void Vanishing_gradients_are_flagged_with_the_parameter_name_even_without_a_run_directory()
    {
        var (extension, log) = Extension();
        using var model = TwoLayers();
        var driver = Drive(TrainerStages.Tree, extension);

        DriveBackward(driver, model, runDir: null, steps: 1, _ => SetGradients(model, (name, p) =>
            full_like(p, name.StartsWith("fc1") ? 1e-9 : 0.05)));

        var lines = log.ToArray();
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.Contains("'fc1.weight'") && l.Contains("vanish"));
        Assert.Contains(lines, l => l.Contains("'fc1.bias'") && l.Contains("vanish"));
        Assert.Equal(GradientCondition.Vanishing, extension.Flagged["fc1.weight"]);
        Assert.False(extension.Flagged.ContainsKey("out.weight"));
    }

    [Fact]
    public void A_gradient_norm_above_the_explode_threshold_is_flagged()
    {
        var (extension, log) = Extension(new GradientPlotOptions { Every = 1, ExplodeThreshold = 100 });
        using var model = TwoLayers();
        var driver = Drive(TrainerStages.Tree, extension);

        DriveBackward(driver, model, null, steps: 1, _ => SetGradients(model, (name, p) =>
            full_like(p, name == "out.weight" ? 50.0 : 0.05)));   // 24 elements of 50: norm ≈ 245

        var line = Assert.Single(log);
        Assert.Contains("'out.weight'", line);
        Assert.Contains("explode", line);
        Assert.Contains("> 1e+2", line);
    }

    [Fact]
    public void Non_finite_gradients_are_flagged_as_exploding()
    {
        var (extension, log) = Extension();
        using var model = TwoLayers();
        var driver = Drive(TrainerStages.Tree, extension);

        DriveBackward(driver, model, null, steps: 1, _ => SetGradients(model, (name, p) =>
        {
            var g = full_like(p, 0.05);
            if (name == "fc1.bias") g[0] = tensor(float.NaN);
            return g;
        }));

        var line = Assert.Single(log);
        Assert.Contains("'fc1.bias'", line);
        Assert.Contains("non-finite", line);
        Assert.Equal(GradientCondition.Exploding, extension.Flagged["fc1.bias"]);
    }

    [Fact]
    public void A_parameter_that_stays_vanished_is_flagged_once_and_its_recovery_is_logged()
    {
        var (extension, log) = Extension();
        using var model = TwoLayers();
        var driver = Drive(TrainerStages.Tree, extension);

        DriveBackward(driver, model, null, steps: 6, step => SetGradients(model, (name, p) =>
            full_like(p, name == "out.bias" && step < 4 ? 0.0 : 0.05)));

        Assert.Equal(2, log.Count);
        Assert.StartsWith("[gradients] step 0: gradients of 'out.bias' vanish", log.First());
        Assert.StartsWith("[gradients] step 4: gradients of 'out.bias' are healthy again", log.Last());
        Assert.Empty(extension.Flagged);
    }

    [Fact]
    public void Gradients_of_a_real_backward_pass_raise_no_flag()
    {
        var (extension, log) = Extension();
        using var model = TwoLayers();
        var driver = Drive(TrainerStages.Tree, extension);
        manual_seed(3);

        DriveBackward(driver, model, null, steps: 3, _ =>
        {
            model.zero_grad();
            nn.functional.cross_entropy(model.call(randn(16, 4)), randint(0, 3, 16)).backward();
        });

        Assert.Empty(log);
    }

    [Fact]
    public void Norms_and_histograms_at_the_first_and_the_last_planned_step_are_drawn()
    {
        var run = TestDirectory.Create("gradient-plot");
        var (extension, log) = Extension(new GradientPlotOptions { Every = 2, MinRenderInterval = TimeSpan.Zero });
        using var model = TwoLayers();
        var driver = Drive(TrainerStages.Tree, extension);
        manual_seed(3);

        DriveBackward(driver, model, run, steps: 9, epochs: 3, setGradients: _ =>
        {
            model.zero_grad();
            nn.functional.cross_entropy(model.call(randn(16, 4)), randint(0, 3, 16)).backward();
        });

        var plots = Path.Combine(run, "plots");
        PngHeader.AssertReadable(Path.Combine(plots, "gradients-norms.png"));
        PngHeader.AssertReadable(Path.Combine(plots, "gradients-histogram-step-0.png"));
        PngHeader.AssertReadable(Path.Combine(plots, "gradients-histogram-step-8.png"));
        Assert.Equal(2, Directory.GetFiles(plots, "gradients-histogram-step-*.png").Length);
        Assert.Empty(log);
    }

    [Fact]
    public void Histogram_steps_and_histogram_every_add_pictures_at_those_steps()
    {
        var run = TestDirectory.Create("gradient-plot");
        var (extension, _) = Extension(new GradientPlotOptions { Every = 10, HistogramSteps = [3], HistogramEvery = 5 });
        using var model = TwoLayers();
        var driver = Drive(TrainerStages.Tree, extension);

        DriveBackward(driver, model, run, steps: 12, _ => SetGradients(model, (_, p) => randn_like(p)));

        var steps = Directory.GetFiles(Path.Combine(run, "plots"), "gradients-histogram-step-*.png")
            .Select(f => int.Parse(Path.GetFileNameWithoutExtension(f)["gradients-histogram-step-".Length..]))
            .Order().ToArray();
        Assert.Equal([0, 3, 5, 10, 11], steps);   // first, listed, every 5, last
    }

    [Fact]
    public void The_probe_measures_each_gradient_s_l2_norm_and_largest_magnitude()
    {
        using var model = nn.Linear(2, 1);
        SetGradients(model, (name, p) => name == "weight" ? tensor(new[] { 3f, -4f }).reshape(1, 2) : tensor(new[] { -0.5f }));

        var m = GradientProbe.Measure(7, model);

        Assert.Equal(7, m.Step);
        Assert.Equal(["weight", "bias"], m.Names);
        Assert.Equal(5.0, m.Norms[0], 6);
        Assert.Equal(4.0, m.MaxMagnitudes[0], 6);
        Assert.Equal(0.5, m.Norms[1], 6);
    }

    [Fact]
    public void The_probe_counts_every_finite_value_in_a_bin_and_the_non_finite_apart()
    {
        using var model = nn.Linear(5, 1, hasBias: false);
        SetGradients(model, (_, _) => tensor(new[] { -1f, 0f, 0.5f, 1f, float.PositiveInfinity }).reshape(1, 5));

        var h = Assert.Single(GradientProbe.Histograms(0, model, bins: 4));

        Assert.Equal(-1.0, h.Min);
        Assert.Equal(1.0, h.Max);
        Assert.Equal([1L, 0L, 1L, 2L], h.Counts);   // [-1,-0.5) [-0.5,0) [0,0.5) [0.5,1]
        Assert.Equal(1, h.NonFinite);
    }
}
