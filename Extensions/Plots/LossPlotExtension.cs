using TrainManager.Experiments;
using TrainManager.Stages;
using static TorchSharp.torch;
using TrainManager.Components;

namespace TrainManager.Extensions.Plots;

/// <summary>
/// Pictures of the loss under <c>&lt;run_dir&gt;/plots/</c>: across batches (<c>loss-batches.png</c>), across epochs
/// (<c>loss-epochs.png</c>) and across samples (<c>loss-samples.png</c>, with <c>worst-samples.csv</c>). An observer:
/// training hands the values over and goes on; the pictures are redrawn every few seconds at most, when
/// <see cref="LossPlotOptions.RefreshEveryBatches"/> batches have passed or an epoch has ended, and once at the end.
/// Without a run directory it does nothing.
/// </summary>
public sealed class LossPlotExtension : Extension
{
    /// <summary>Writes files (or the console): once, on rank 0, in a data-parallel run.</summary>
    public override RankScope Ranks => RankScope.RankZero;

    private readonly LossPlotOptions _options;
    private readonly RenderSchedule _schedule;
    private readonly CompactingSeries _batchLoss = new();
    private readonly List<long> _epochStartSteps = new();
    private readonly List<EpochLoss> _epochs = new();
    private readonly SampleLossTracker _samples;
    private string? _plotsDirectory;
    private int? _epoch;
    private long _nonFiniteBatches;
    private int _batchesSinceRefresh;
    private bool _changedSinceDrawn;
    private bool _mismatchReported;

    public LossPlotExtension(LossPlotOptions? options = null, TimeProvider? clock = null)
    {
        _options = (options ?? new LossPlotOptions()).Validated();
        _schedule = new RenderSchedule(_options.MinRenderInterval, clock);
        _samples = new SampleLossTracker(_options.Worst);
    }

    public override ExtensionHosting Hosting => ExtensionHosting.Observing;

    public LossPlotOptions Options => _options;

    [Component("loss-plot", Description = "plots/loss-*.png and the worst samples")]
    public static LossPlotExtension Create(
        [Setting("redraw every N batches")] int refreshEveryBatches = 200,
        [Setting("worst samples listed")] int worst = 20,
        [Setting("at least this many seconds between drawings")] double minRenderSeconds = 5,
        [Setting("the loss axis' label")] string lossLabel = "cross-entropy loss (nats)") => new(new LossPlotOptions
    {
        RefreshEveryBatches = refreshEveryBatches,
        Worst = worst,
        MinRenderInterval = TimeSpan.FromSeconds(minRenderSeconds),
        LossLabel = lossLabel,
    });

    public void PreFit(string? runDir) => _plotsDirectory = runDir is null ? null : Path.Combine(runDir, "plots");

    // Everything but the step is optional: a batch whose loss stage was skipped has no loss, and a routine without
    // per-sample losses still gets the batch and epoch pictures.
    public void PostBatch(long step, Tensor? loss = null, Tensor? perSampleLoss = null, long[]? sampleIndices = null, int epoch = 0)
    {
        if (_plotsDirectory is null || loss is null) return;
        using var scope = NewDisposeScope();
        if (_epoch != epoch)
        {
            _epoch = epoch;
            _epochStartSteps.Add(step);
        }
        var value = loss.detach().to_type(ScalarType.Float64).cpu().item<double>();
        if (double.IsFinite(value)) _batchLoss.Add(step, value);
        else _nonFiniteBatches++;
        if (perSampleLoss is not null && sampleIndices is not null) AddSamples(epoch, step, perSampleLoss, sampleIndices);
        _changedSinceDrawn = true;
        if (_options.RefreshEveryBatches > 0 && ++_batchesSinceRefresh >= _options.RefreshEveryBatches)
        {
            _batchesSinceRefresh = 0;
            _schedule.Request();
        }
        if (_schedule.Due) Draw();
    }

    public void PostEpoch(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        if (_plotsDirectory is null) return;
        _epochs.Add(EpochLoss.From(epoch, metrics));
        _samples.FinishEpoch();
        _changedSinceDrawn = true;
        _schedule.Request();
        if (_schedule.Due) Draw();
    }

    /// <summary>The last drawing happens here, after every batch has been handled, whatever the schedule says.</summary>
    public override void OnRoutineEnd()
    {
        if (_plotsDirectory is not null && _changedSinceDrawn) Draw();
    }

    private void AddSamples(int epoch, long step, Tensor perSampleLoss, long[] sampleIndices)
    {
        var losses = perSampleLoss.detach().flatten().to_type(ScalarType.Float32).cpu().data<float>().ToArray();
        if (losses.Length == sampleIndices.Length)
        {
            _samples.Add(epoch, step, losses, sampleIndices);
            return;
        }
        // A hook that changed the batch size without changing the indices: the samples cannot be matched. Said once.
        if (_mismatchReported) return;
        _mismatchReported = true;
        Console.Error.WriteLine($"{Name}: step {step} has {losses.Length} per-sample losses but {sampleIndices.Length} sample indices; " +
            "per-sample pictures leave such batches out.");
    }

    private void Draw()
    {
        var directory = _plotsDirectory!;
        Directory.CreateDirectory(directory);
        var (steps, losses) = _batchLoss.Points();
        if (steps.Length > 0)
            LossCharts.DrawBatches(Path.Combine(directory, "loss-batches.png"), steps, losses, _batchLoss.PointsPerBucket,
                _epochStartSteps, _nonFiniteBatches, _options.LossLabel);
        if (_epochs.Count > 0)
            LossCharts.DrawEpochs(Path.Combine(directory, "loss-epochs.png"), _epochs, _options.LossLabel);
        var distributions = _samples.Distributions();
        if (distributions.Count > 0)
        {
            var worst = _samples.Worst();
            LossCharts.DrawSamples(Path.Combine(directory, "loss-samples.png"), distributions, worst, _options.LossLabel);
            WorstSamplesCsv.Write(Path.Combine(directory, "worst-samples.csv"), worst);
        }
        _changedSinceDrawn = false;
        _schedule.Rendered();
    }
}
