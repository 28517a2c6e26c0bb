using System.Diagnostics;
using System.Text;
using TorchSharp;
using TrainManager.Experiments;
using TrainManager.Models;
using TrainManager.Runtime;
using TrainManager.Data;
using TrainManager.Stages;
using TrainManager.Tasks;
using TrainManager.Training;
using TrainManager.Components;

namespace TrainManager.Extensions.Report;

/// <summary>
/// Writes <c>&lt;run_dir&gt;/report.html</c>, one page a person opens to understand the run: key facts, metrics per
/// epoch, the pictures under <c>plots/</c> and links to the run's files. Without a run directory it does nothing.
/// </summary>
/// <remarks>
/// The page is written when the fit ends and written again when the routine ends: observing extensions draw their
/// last pictures after the fit stage, before the routine ends, and the second writing lists them. A failed fit has
/// no end of fit; its page, written when the routine ends, says where it failed.
/// </remarks>
public sealed class RunReportExtension(string? experimentName = null, TimeProvider? clock = null) : Extension
{
    /// <summary>Writes files (or the console): once, on rank 0, in a data-parallel run.</summary>
    public override RankScope Ranks => RankScope.RankZero;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly List<EpochMetrics> _epochs = new();
    private RunFacts? _facts;
    private long _started;

    [Component("report", Description = "report.html: the whole run on one page")]
    public static RunReportExtension Create(ExtensionContext context) => new(context.Experiment.Name);

    public void PreFit(string? runDir, ModelSpec? modelSpec = null, torch.nn.Module? model = null, torch.Device? device = null,
        int epochs = 0, int? batchSize = null, long? seed = null, int worldSize = 1, ConfiguredTask? task = null, IDataset? validationData = null)
    {
        var split = validationData is null ? ConfiguredTask.Test : ConfiguredTask.Validation;
        _epochs.Clear();
        _started = _clock.GetTimestamp();
        _facts = runDir is null ? null : new RunFacts
        {
            RunDirectory = Path.GetFullPath(runDir),
            ExperimentName = experimentName,
            Model = modelSpec?.ToString(),
            ParameterCount = model?.parameters().Sum(p => p.numel()),
            PlannedEpochs = epochs > 0 ? epochs : null,
            BatchSize = batchSize,
            Seed = seed,
            Device = device?.ToString(),
            WorldSize = worldSize,
            BestMetric = task?.Best.KeyFor(split),
            BestMode = task?.Best.Mode,
        };
    }

    public void PostEpoch(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        if (_facts is null) return;
        _epochs.Add(new EpochMetrics(epoch, new Dictionary<string, double>(metrics)));
    }

    public void PostFit(FitResult? result = null)
    {
        if (_facts is null) return;
        _facts = _facts with
        {
            Outcome = result?.StopReason is null ? RunOutcome.Completed : RunOutcome.Stopped,
            StopReason = result?.StopReason,
            CompletedEpochs = result?.Epochs ?? _epochs.Count,
            Duration = result?.Elapsed ?? _clock.GetElapsedTime(_started),
            LastCheckpoint = result?.LastCheckpoint,
            FinalMetrics = result?.Metrics ?? new Dictionary<string, double>(),
            BestCheckpoint = result?.BestCheckpoint,
            BestMetric = result?.BestMetric ?? _facts.BestMetric,
            BestMode = result?.BestMode ?? _facts.BestMode,
        };
        Write();
    }

    public override void OnFailure(StageFailure failure)
    {
        if (_facts is null) return;
        _facts = _facts with
        {
            Outcome = RunOutcome.Failed,
            FailedStage = failure.StagePath,
            FailureMessage = (failure.Extension is null ? "" : $"{failure.Extension}.{failure.Hook}: ") + Innermost(failure.Exception).Message,
            Duration = _clock.GetElapsedTime(_started),
        };
    }

    public override void OnRoutineEnd()
    {
        if (_facts is null) return;
        Write();
        // A later routine on the same trainer (evaluate, predict) is not this fit; it leaves the page alone.
        _facts = null;
    }

    private void Write()
    {
        var facts = _facts! with { Epochs = _epochs.ToArray() };
        var contents = RunDirectoryContents.Read(facts.RunDirectory);
        var html = RunReportPage.Render(facts, contents, _clock.GetLocalNow());
        AtomicFile.Write(Path.Combine(facts.RunDirectory, "report.html"), Encoding.UTF8.GetBytes(html));
    }

    private static Exception Innermost(Exception e) => e is HookFailedException { InnerException: { } inner } ? inner : e;
}
