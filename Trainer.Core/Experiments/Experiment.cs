namespace TrainManager.Experiments;

/// <summary>
/// A resolved experiment: everything a run needs, read from a HOCON file plus <c>--set</c> overrides.
/// Keys in the file are kebab-case (<c>batch-size</c>); the records mirror them.
/// </summary>
public sealed record Experiment
{
    public required string Name { get; init; }
    /// <summary>The file it came from (null when built in code).</summary>
    public string? SourceFile { get; init; }
    public long Seed { get; init; } = 42;
    public string Device { get; init; } = "cpu";
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }
    /// <summary>Batch size for evaluation; defaults to 4x the training batch.</summary>
    public int? EvalBatchSize { get; init; }
    /// <summary>libtorch intra-op threads; 0 = libtorch's default.</summary>
    public int Threads { get; init; }
    public required ModelSection Model { get; init; }
    public required DataSection Data { get; init; }
    /// <summary>What the model learns: the loss and the metrics (<c>task { type = classification, metrics = [accuracy] }</c>).</summary>
    public TaskSection Task { get; init; } = new();
    public OptimizerSection Optimizer { get; init; } = new();
    public SchedulerSection Scheduler { get; init; } = new();
    /// <summary>Clip the global gradient norm to this value; 0 = off.</summary>
    public double GradientClip { get; init; }
    /// <summary>Accumulate gradients over this many batches before each optimizer step.</summary>
    public int Accumulate { get; init; } = 1;
    public CheckpointSection Checkpoint { get; init; } = new();
    public IReadOnlyList<ExtensionSection> Extensions { get; init; } = [];
    /// <summary>Data-parallel workers (cluster runs): N ranks train one model, each on its shard of every epoch.</summary>
    public int Workers { get; init; } = 1;
    /// <summary>How a data-parallel run moves gradients and survives the loss of a worker.</summary>
    public DataParallelSection DataParallel { get; init; } = new();
    /// <summary>Where run directories are created.</summary>
    public string RunsDirectory { get; init; } = "runs";
    /// <summary>The resolved configuration as HOCON text, recorded with the run.</summary>
    public string ResolvedHocon { get; init; } = "";
    /// <summary>The user's training project whose components the experiment names; null: built-ins only.</summary>
    public CodeSection? Code { get; init; }
    /// <summary>The <c>--set</c> overrides applied on top of the file, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Overrides { get; init; } = [];
}

/// <summary><c>code { project = "../MyModels" }</c>: the training project (a folder with one .csproj, or the .csproj itself)
/// that declares the experiment's own components. Relative to the experiment file.</summary>
public sealed record CodeSection(string Project);

/// <summary>A model type and its constructor arguments (the instantiation parameters).</summary>
public sealed record ModelSection(string Type, IReadOnlyDictionary<string, object?> Arguments);

/// <summary>
/// <c>data { type = csv, path = ..., train-limit = 0, test-limit = 0, validation = 0.1, prefetch = 2 }</c>: the data source
/// (<see cref="Type"/>) with its own settings (<see cref="Settings"/>, checked by the source) and what every source shares.
/// </summary>
public sealed record DataSection
{
    /// <summary>The data source: <c>fashion-mnist</c>, <c>mnist-idx</c>, <c>csv</c>, <c>image-folder</c>, <c>npy</c>, <c>npz</c>, or
    /// a training project's own. Experiment files may still write it <c>dataset</c>.</summary>
    public required string Type { get; init; }

    /// <summary>The source's own settings: kebab-case keys (<c>test-path</c>), simple values (long, double, bool, text, lists).</summary>
    public IReadOnlyDictionary<string, object?> Settings { get; init; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    /// <summary>The <c>path</c> setting: the folder or file most sources read. Setting it replaces that entry of
    /// <see cref="Settings"/> (so in an initializer, set it after <see cref="Settings"/>).</summary>
    public string? Path
    {
        get => Settings.TryGetValue("path", out var path) ? path?.ToString() : null;
        init => Settings = new Dictionary<string, object?>(Settings, StringComparer.Ordinal) { ["path"] = value };
    }

    /// <summary>Use only the first N training samples (0 = all): for quick runs and tests.</summary>
    public int TrainLimit { get; init; }
    public int TestLimit { get; init; }

    /// <summary>The fraction of the (limited) training split held out to validate on during training, chosen with the
    /// experiment's seed; 0 = none (a source may bring its own validation split).</summary>
    public double Validation { get; init; }

    /// <summary>Batches read ahead on a background thread for sources that read lazily; 0 = off.</summary>
    public int Prefetch { get; init; } = 2;

    public bool Equals(DataSection? other) =>
        other is not null && Type == other.Type && TrainLimit == other.TrainLimit && TestLimit == other.TestLimit
        && Validation.Equals(other.Validation) && Prefetch == other.Prefetch
        && Settings.Count == other.Settings.Count
        && Settings.All(p => other.Settings.TryGetValue(p.Key, out var value) && SameSetting(p.Value, value));

    public override int GetHashCode() => HashCode.Combine(Type, TrainLimit, TestLimit, Validation, Prefetch, Settings.Count);

    static bool SameSetting(object? a, object? b) =>
        a is System.Collections.IEnumerable x and not string && b is System.Collections.IEnumerable y and not string
            ? x.Cast<object?>().SequenceEqual(y.Cast<object?>())
            : Equals(a, b);
}

public sealed record OptimizerSection
{
    public string Type { get; init; } = "adam";
    public double LearningRate { get; init; } = 1e-3;
    public double Momentum { get; init; }
    public bool Nesterov { get; init; }
    public double WeightDecay { get; init; }
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
}

public sealed record SchedulerSection
{
    /// <summary><c>none</c>, <c>step</c> or <c>cosine</c>.</summary>
    public string Type { get; init; } = "none";
    public int StepSize { get; init; } = 1;
    public double Gamma { get; init; } = 0.1;
    /// <summary>Cosine period in epochs; 0 = the number of epochs.</summary>
    public int TMax { get; init; }
    public double MinLearningRate { get; init; }
}

public sealed record CheckpointSection
{
    /// <summary>Write a checkpoint every N epochs (0 = only at the end).</summary>
    public int EveryEpochs { get; init; } = 1;
    /// <summary>Keep the newest N checkpoints (0 = all); the best checkpoint is kept besides them.</summary>
    public int Keep { get; init; } = 3;
    /// <summary>The metric the best checkpoint follows: <c>loss</c> or one of <c>task.metrics</c>, on the per-epoch
    /// evaluation split, optionally with that split as prefix (<c>val_accuracy</c>). Null: the task's first metric.</summary>
    public string? Best { get; init; }
    /// <summary><c>max</c> or <c>min</c>: which way <see cref="Best"/> is better. Null: the metric's own direction.</summary>
    public string? BestMode { get; init; }
}

/// <summary>
/// <c>task { type = classification, metrics = [accuracy, top5, f1-macro] }</c>: which task (the loss and the metrics it
/// can report) and which of its metrics each evaluated split reports. Other keys are the task's settings
/// (<c>threshold = 0.5</c> for <c>multi-label</c>).
/// </summary>
public sealed record TaskSection
{
    public string Type { get; init; } = "classification";
    /// <summary>The metrics to report, in order; empty: the task's defaults.</summary>
    public IReadOnlyList<string> Metrics { get; init; } = ["accuracy"];
    public IReadOnlyDictionary<string, object?> Settings { get; init; } = new Dictionary<string, object?>();
}

/// <summary>
/// <c>data-parallel { ... }</c>: settings of a run with <c>workers</c> &gt; 1. When a worker is lost the run goes on
/// from its last checkpoint with the live workers, waiting up to <see cref="ReplacementWait"/> for a replacement and
/// never with fewer than <see cref="MinWorkers"/>.
/// </summary>
public sealed record DataParallelSection
{
    /// <summary>The fewest workers the run trains with (after losing some, or when the cluster has fewer slots free).</summary>
    public int MinWorkers { get; init; } = 1;
    /// <summary>How long a queued run waits for all its workers before it starts with fewer (at least <see cref="MinWorkers"/>):
    /// after losing a worker, the time a replacement has to join; on first submission, the time the cluster has to offer them all.</summary>
    public TimeSpan ReplacementWait { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Bytes of gradients reduced per ring pass (<c>bucket-size = 4 MiB</c>).</summary>
    public int BucketBytes { get; init; } = 4 << 20;
    /// <summary>How long a gradient exchange may make no progress before its peer is declared lost.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How gradients move between the workers (<c>transport = auto | ring | in-process</c>): the node builds
    /// that transport for each rank; <see cref="AutoTransport"/> picks in-process when every rank is in one process.</summary>
    public string Transport { get; init; } = AutoTransport;

    public const string AutoTransport = "auto";
}

/// <summary>An extension named in the experiment, with its settings (kebab-case keys, simple values).</summary>
public sealed record ExtensionSection(string Type, IReadOnlyDictionary<string, object?> Settings);
