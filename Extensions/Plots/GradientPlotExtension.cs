using TorchSharp;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Components;

namespace TrainManager.Extensions.Plots;

/// <summary>
/// Gradients of every parameter: the L2 norm over steps (<c>plots/gradients-norms.png</c>), value histograms at the
/// first and last step and at chosen ones (<c>plots/gradients-histogram-step-&lt;n&gt;.png</c>), and a log line when a
/// parameter's gradients vanish or explode (and when they recover). The flags work without a run directory too.
/// </summary>
/// <remarks>
/// Inline, not observing: the gradients live in <c>param.grad</c> only between the backward stage and the
/// optimizer's <c>zero_grad</c>, and an observer would read them later, from another thread. Snapshotting whole
/// gradients for an observer would copy the model's size each time; instead the hook reduces each gradient to two
/// numbers on the device and brings back one small tensor, and only those numbers travel to the drawing thread.
/// The step filter is a setting, so it is tested in the hook rather than with <c>[Every(N)]</c>, which needs a
/// constant; the test costs one division per batch.
/// </remarks>
public sealed class GradientPlotExtension : Extension
{
    /// <summary>Writes files (or the console): once, on rank 0, in a data-parallel run.</summary>
    public override RankScope Ranks => RankScope.RankZero;

    private static readonly TimeSpan FinalDrawingTimeout = TimeSpan.FromMinutes(2);

    private readonly GradientPlotOptions _options;
    private readonly GradientHealthMonitor _health;
    private readonly GradientNormHistory _norms;
    private readonly RenderSchedule _schedule;
    private readonly DrawingQueue _drawing;
    private readonly HashSet<long> _histogramSteps;
    private string? _plotsDirectory;
    private long? _firstStep;
    private long? _lastPlannedStep;
    private bool _normsChangedSinceDrawn;

    /// <param name="log">Where vanishing and exploding gradients are reported; standard error by default.</param>
    public GradientPlotExtension(GradientPlotOptions? options = null, Action<string>? log = null, TimeProvider? clock = null)
    {
        _options = (options ?? new GradientPlotOptions()).Validated();
        log ??= Console.Error.WriteLine;
        _health = new GradientHealthMonitor(_options.VanishThreshold, _options.ExplodeThreshold, log);
        // Zero norms sit a thousandth below the vanish line (or at 1e-12 with the check off): visibly at the bottom.
        _norms = new GradientNormHistory(_options.VanishThreshold > 0 ? _options.VanishThreshold * 1e-3 : 1e-12);
        _schedule = new RenderSchedule(_options.MinRenderInterval, clock);
        _drawing = new DrawingQueue(log);
        _histogramSteps = [.. _options.HistogramSteps];
    }

    public GradientPlotOptions Options => _options;

    /// <summary>Parameters flagged at their last measurement, and how.</summary>
    public IReadOnlyDictionary<string, GradientCondition> Flagged => _health.Flagged;

    [Component("gradient-plot", Description = "plots/gradients-*.png; vanishing and exploding layers flagged")]
    public static GradientPlotExtension Create(
        [Setting("measure gradients every N steps")] int every = 10,
        [Setting("a layer's gradient norm below this is vanishing (0: off)")] double vanishThreshold = 1e-7,
        [Setting("a layer's gradient norm above this is exploding (0: off)")] double explodeThreshold = 1e3,
        [Setting("draw histograms every N steps (0: first and last only)")] int histogramEvery = 0,
        [Setting("also draw histograms at these steps")] long[]? histogramSteps = null,
        [Setting("bins per histogram")] int histogramBins = 60,
        [Setting("at least this many seconds between drawings")] double minRenderSeconds = 5) => new(new GradientPlotOptions
    {
        Every = every,
        VanishThreshold = vanishThreshold,
        ExplodeThreshold = explodeThreshold,
        HistogramEvery = histogramEvery,
        HistogramSteps = histogramSteps ?? [],
        HistogramBins = histogramBins,
        MinRenderInterval = TimeSpan.FromSeconds(minRenderSeconds),
    });

    /// <summary>The planned last step (epochs × batches per epoch − 1) gets a histogram; a run stopped early does not reach it.</summary>
    public void PreFit(string? runDir, int epochs = 0, int batchesPerEpoch = 0)
    {
        _plotsDirectory = runDir is null ? null : Path.Combine(runDir, "plots");
        _lastPlannedStep = epochs > 0 && batchesPerEpoch > 0 ? (long)epochs * batchesPerEpoch - 1 : null;
    }

    public void PostBackward(torch.nn.Module model, long step)
    {
        _firstStep ??= step;
        var histogram = IsHistogramStep(step);
        if (step % _options.Every != 0 && !histogram) return;

        var measurement = GradientProbe.Measure(step, model);
        _health.Check(measurement);
        if (_plotsDirectory is null) return;
        _norms.Add(measurement);
        _normsChangedSinceDrawn = true;
        if (histogram)
        {
            var histograms = GradientProbe.Histograms(step, model, _options.HistogramBins);
            var file = Path.Combine(_plotsDirectory, $"gradients-histogram-step-{step}.png");
            _drawing.Submit(file, () => GradientCharts.DrawHistograms(Prepared(file), step, histograms));
        }
        _schedule.Request();
        if (_schedule.Due) DrawNorms();
    }

    /// <summary>Training is over: the last pictures are drawn before the fit returns, so a report written now finds them.</summary>
    public void PostFit() => Finish();

    /// <summary>For a routine that failed (no post hooks ran): draw what was measured up to the failure.</summary>
    public override void OnRoutineEnd() => Finish();

    private void Finish()
    {
        if (_plotsDirectory is null) return;
        if (_normsChangedSinceDrawn) DrawNorms();
        if (!_drawing.WaitIdle(FinalDrawingTimeout))
            Console.Error.WriteLine($"{Name}: gradient pictures were still being drawn after {FinalDrawingTimeout.TotalSeconds:0} s; training goes on without them.");
    }

    private bool IsHistogramStep(long step) =>
        step == _firstStep || step == _lastPlannedStep || _histogramSteps.Contains(step)
        || (_options.HistogramEvery > 0 && step % _options.HistogramEvery == 0);

    private void DrawNorms()
    {
        if (_norms.IsEmpty) return;
        var snapshot = _norms.Snapshot();
        var file = Path.Combine(_plotsDirectory!, "gradients-norms.png");
        _drawing.Submit(file, () => GradientCharts.DrawNorms(Prepared(file), snapshot, _options.Every, _options.VanishThreshold, _options.ExplodeThreshold));
        _normsChangedSinceDrawn = false;
        _schedule.Rendered();
    }

    private static string Prepared(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        return file;
    }
}
