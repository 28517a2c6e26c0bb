namespace TrainManager.Extensions.Report;

/// <summary>What the report says about a run, gathered from the fit's fixtures; null where the run did not tell.</summary>
public sealed record RunFacts
{
    public required string RunDirectory { get; init; }
    public string RunId => Path.GetFileName(Path.TrimEndingDirectorySeparator(RunDirectory));
    public string? ExperimentName { get; init; }
    public string? Model { get; init; }
    public long? ParameterCount { get; init; }
    public int? PlannedEpochs { get; init; }
    public int? BatchSize { get; init; }
    public long? Seed { get; init; }
    public string? Device { get; init; }
    public int WorldSize { get; init; } = 1;
    public TimeSpan? Duration { get; init; }
    public RunOutcome Outcome { get; init; } = RunOutcome.Running;
    /// <summary>Epochs done, counting those before a resume.</summary>
    public int? CompletedEpochs { get; init; }
    public string? StopReason { get; init; }
    public string? FailedStage { get; init; }
    public string? FailureMessage { get; init; }
    public string? LastCheckpoint { get; init; }
    /// <summary>The run's best checkpoint by <see cref="BestMetric"/>, when one was written.</summary>
    public string? BestCheckpoint { get; init; }
    /// <summary>The epoch metric the best checkpoint follows (<c>val_accuracy</c>); the highlighted row of the table.</summary>
    public string? BestMetric { get; init; }
    /// <summary><c>max</c> or <c>min</c>.</summary>
    public string? BestMode { get; init; }
    /// <summary>The fit's final metrics (<c>train_loss</c>, <c>val_*</c>, <c>test_*</c>), in the trainer's order.</summary>
    public IReadOnlyDictionary<string, double> FinalMetrics { get; init; } = new Dictionary<string, double>();
    /// <summary>Epochs seen by the extension (the metrics file, when present, also has those before a resume).</summary>
    public IReadOnlyList<EpochMetrics> Epochs { get; init; } = [];
}

public enum RunOutcome { Running, Completed, Stopped, Failed }
