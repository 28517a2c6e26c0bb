using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace TrainManager.Experiments;

/// <summary>
/// Turns the merged HOCON tree (file plus overrides) into an <see cref="Experiment"/>, checking every key against
/// the schema, every value's type, and the ranges a run depends on. Each failure is an
/// <see cref="ExperimentException"/> located by <c>locate</c> (file line or <c>--set</c> override).
/// </summary>
internal sealed partial class ExperimentReader(
    HoconObject root,
    Func<string, (string? Origin, int? Line)> locate,
    string defaultName,
    Components.ComponentCatalog? components)
{
    readonly IReadOnlyList<string>? extensionTypes = components?.Names(Components.ComponentKind.Extension);

    // The known keys of each block come from ExperimentSchema, which the reference table is printed from too.
    // model.args and extension settings are free-form.
    static readonly IReadOnlyList<string> TopLevelKeys = ExperimentSchema.KeysIn("");
    static readonly IReadOnlyList<string> ModelKeys = ExperimentSchema.KeysIn("model");
    static readonly IReadOnlyList<string> DataKeys = ExperimentSchema.KeysIn("data");
    static readonly IReadOnlyList<string> OptimizerKeys = ExperimentSchema.KeysIn("optimizer");
    static readonly IReadOnlyList<string> SchedulerKeys = ExperimentSchema.KeysIn("scheduler");
    static readonly IReadOnlyList<string> CheckpointKeys = ExperimentSchema.KeysIn("checkpoint");
    static readonly IReadOnlyList<string> DataParallelKeys = ExperimentSchema.KeysIn("data-parallel");
    static readonly IReadOnlyList<string> CodeKeys = ExperimentSchema.KeysIn("code");
    /// <summary>Besides these, a task block holds the task's own settings (free-form, checked by the task).</summary>
    static readonly IReadOnlyList<string> TaskKeys = ExperimentSchema.KeysIn("task");
    public static readonly IReadOnlyList<string> BestModes = ExperimentSchema.AllowedValues("checkpoint.best-mode");
    public static readonly IReadOnlyList<string> Transports = ExperimentSchema.AllowedValues("data-parallel.transport");


    public Experiment Read()
    {
        CheckKeys(root, "", TopLevelKeys);
        var defaults = new Experiment
        {
            Name = defaultName, Epochs = 1, BatchSize = 1, Model = new ModelSection("", new Dictionary<string, object?>()),
            Data = new DataSection { Type = "" },
        };

        var device = String(root, "", "device") ?? defaults.Device;
        if (!DevicePattern().IsMatch(device))
            Fail("device", $"'device' must be cpu, cuda or cuda:N (a GPU index), but is \"{device}\". Write device = cpu, or device = \"cuda:0\" (quoted: ':' is special in HOCON).");

        var epochs = RequiredInt(root, "", "epochs", "epochs = 10");
        Check(epochs >= 1, "epochs", $"'epochs' must be at least 1, but is {epochs}.");
        var batchSize = RequiredInt(root, "", "batch-size", "batch-size = 128");
        Check(batchSize >= 1, "batch-size", $"'batch-size' must be at least 1, but is {batchSize}.");
        var evalBatchSize = Int(root, "", "eval-batch-size");
        Check(evalBatchSize is null or >= 1, "eval-batch-size", $"'eval-batch-size' must be at least 1, but is {evalBatchSize}; leave it out to use 4x batch-size.");
        var threads = Int(root, "", "threads") ?? defaults.Threads;
        Check(threads >= 0, "threads", $"'threads' must be 0 (libtorch's default) or more, but is {threads}.");
        var gradientClip = Double(root, "", "gradient-clip") ?? defaults.GradientClip;
        Check(gradientClip >= 0, "gradient-clip", $"'gradient-clip' must be 0 (off) or a positive norm, but is {Format(gradientClip)}.");
        var accumulate = Int(root, "", "accumulate") ?? defaults.Accumulate;
        Check(accumulate >= 1, "accumulate", $"'accumulate' must be at least 1 (1 = step after every batch), but is {accumulate}.");
        var workers = Int(root, "", "workers") ?? defaults.Workers;
        Check(workers >= 1, "workers", $"'workers' must be at least 1, but is {workers}.");

        var experiment = defaults with
        {
            Name = String(root, "", "name") ?? defaultName,
            Seed = Long(root, "", "seed") ?? defaults.Seed,
            Device = device,
            Epochs = epochs,
            BatchSize = batchSize,
            EvalBatchSize = evalBatchSize,
            Threads = threads,
            Model = ReadModel(),
            Data = ReadData(),
            Task = ReadTask(),
            Optimizer = ReadOptimizer(),
            Scheduler = ReadScheduler(),
            GradientClip = gradientClip,
            Accumulate = accumulate,
            Checkpoint = ReadCheckpoint(),
            Extensions = ReadExtensions(),
            Workers = workers,
            DataParallel = ReadDataParallel(workers),
            RunsDirectory = String(root, "", "runs-dir") ?? defaults.RunsDirectory,
            Code = ReadCode(),
        };
        CheckDataSourceSettings(experiment.Data);
        return WithTaskDefaults(experiment);
    }

    TaskSection ReadTask()
    {
        var defaults = new TaskSection();
        var task = Block(root, "", "task", required: null);
        if (task is null)
            return defaults;
        var type = String(task, "task", "type") ?? defaults.Type;
        IReadOnlyList<string> metrics = [];
        if (Value(task, "metrics") is { } list)
        {
            if (!IsList(list))
                Fail("task.metrics", $"'task.metrics' must be a list of metric names, e.g. metrics = [accuracy, f1-macro], but is {Describe(list)}.");
            metrics = Items(list).Select(item => item.GetString()?.Trim() ?? "").ToList();
        }
        var settings = SimpleValues(task, "task", "task settings");
        foreach (var key in TaskKeys) settings.Remove(key);
        return new TaskSection { Type = type, Metrics = metrics, Settings = settings };
    }

    /// <summary>With the components known, the data source's own settings are checked now, with their lines.</summary>
    void CheckDataSourceSettings(DataSection data)
    {
        if (components is null) return;
        try
        {
            components.CheckSettings(Components.ComponentKind.DataSource, data.Type, data.Settings, "data", DataKeys);
        }
        catch (ExperimentException e) when (e.Origin is null)
        {
            Fail(e.KeyPath ?? "data", e.Problem);
        }
    }

    /// <summary>
    /// With the components known, checks the task, its metrics and the best checkpoint's metric now, at load, and
    /// spells out their defaults; without them the trainer checks the same when it builds the task.
    /// </summary>
    Experiment WithTaskDefaults(Experiment experiment)
    {
        try
        {
            if (components?.CreateTask(experiment.Task) is not { } task)
                return experiment;
            var configured = Tasks.ConfiguredTask.Create(task, experiment.Task, experiment.Checkpoint);
            return experiment with
            {
                Task = experiment.Task with { Metrics = configured.Metrics.Select(m => m.Name).ToList() },
                Checkpoint = experiment.Checkpoint with
                {
                    Best = experiment.Checkpoint.Best ?? configured.Best.Metric,
                    BestMode = configured.Best.Mode,
                },
            };
        }
        catch (ExperimentException e) when (e.Origin is null)
        {
            Fail(e.KeyPath ?? "task", e.Problem);
            return experiment;
        }
    }

    CodeSection? ReadCode()
    {
        var code = Block(root, "", "code", required: null);
        if (code is null) return null;
        CheckKeys(code, "code", CodeKeys);
        return new CodeSection(RequiredString(code, "code", "project", "code { project = \"../MyModels\" }"));
    }

    ModelSection ReadModel()
    {
        var model = Block(root, "", "model", required: "model { type = mlp }")!;
        CheckKeys(model, "model", ModelKeys);
        var type = RequiredString(model, "model", "type", "model { type = cnn }");
        var args = Block(model, "model", "args", required: null);
        return new ModelSection(type, args is null ? new Dictionary<string, object?>() : SimpleValues(args, "model.args", "model arguments"));
    }

    DataSection ReadData()
    {
        var data = Block(root, "", "data", required: "data { type = fashion-mnist }")!;
        var type = String(data, "data", "type");
        var dataset = String(data, "data", "dataset");
        if (type is not null && dataset is not null && type != dataset)
            Fail("data.dataset", $"'data.dataset' is the older name of 'data.type', and they disagree (\"{dataset}\" and \"{type}\"). Keep only type = {type}.");
        var trainLimit = Int(data, "data", "train-limit") ?? 0;
        Check(trainLimit >= 0, "data.train-limit", $"'data.train-limit' must be 0 (all samples) or more, but is {trainLimit}.");
        var testLimit = Int(data, "data", "test-limit") ?? 0;
        Check(testLimit >= 0, "data.test-limit", $"'data.test-limit' must be 0 (all samples) or more, but is {testLimit}.");
        var validation = Double(data, "data", "validation") ?? 0;
        Check(validation is >= 0 and < 1, "data.validation",
            $"'data.validation' is the fraction of the training data held out to validate on, from 0 (none) to below 1, but is {Format(validation)}. Write e.g. validation = 0.1.");
        var prefetch = Int(data, "data", "prefetch") ?? 2;
        Check(prefetch >= 0, "data.prefetch", $"'data.prefetch' is how many batches are read ahead, 0 (off) or more, but is {prefetch}.");
        var settings = SimpleValues(data, "data", "data source settings");
        foreach (var key in DataKeys) settings.Remove(key);
        return new DataSection
        {
            Type = type ?? dataset ?? Missing<string>("data", "type", "data { type = fashion-mnist }"),
            Settings = settings,
            TrainLimit = trainLimit,
            TestLimit = testLimit,
            Validation = validation,
            Prefetch = prefetch,
        };
    }

    OptimizerSection ReadOptimizer()
    {
        var defaults = new OptimizerSection();
        var optimizer = Block(root, "", "optimizer", required: null);
        if (optimizer is null)
            return defaults;
        CheckKeys(optimizer, "optimizer", OptimizerKeys);
        var type = ComponentType(optimizer, "optimizer", Components.ComponentKind.Optimizer) ?? defaults.Type;
        var lr = Double(optimizer, "optimizer", "lr") ?? defaults.LearningRate;
        Check(lr > 0, "optimizer.lr", $"'optimizer.lr' must be greater than 0, but is {Format(lr)}; typical values are 0.1 for sgd and 0.001 for adam.");
        var momentum = Double(optimizer, "optimizer", "momentum") ?? defaults.Momentum;
        Check(momentum >= 0, "optimizer.momentum", $"'optimizer.momentum' must be 0 or more, but is {Format(momentum)}.");
        var weightDecay = Double(optimizer, "optimizer", "weight-decay") ?? defaults.WeightDecay;
        Check(weightDecay >= 0, "optimizer.weight-decay", $"'optimizer.weight-decay' must be 0 or more, but is {Format(weightDecay)}.");
        var beta1 = Double(optimizer, "optimizer", "beta1") ?? defaults.Beta1;
        Check(beta1 is >= 0 and < 1, "optimizer.beta1", $"'optimizer.beta1' must be in [0, 1), but is {Format(beta1)}; the usual value is 0.9.");
        var beta2 = Double(optimizer, "optimizer", "beta2") ?? defaults.Beta2;
        Check(beta2 is >= 0 and < 1, "optimizer.beta2", $"'optimizer.beta2' must be in [0, 1), but is {Format(beta2)}; the usual value is 0.999.");
        return new OptimizerSection
        {
            Type = type,
            LearningRate = lr,
            Momentum = momentum,
            Nesterov = Bool(optimizer, "optimizer", "nesterov") ?? defaults.Nesterov,
            WeightDecay = weightDecay,
            Beta1 = beta1,
            Beta2 = beta2,
        };
    }

    SchedulerSection ReadScheduler()
    {
        var defaults = new SchedulerSection();
        var scheduler = Block(root, "", "scheduler", required: null);
        if (scheduler is null)
            return defaults;
        CheckKeys(scheduler, "scheduler", SchedulerKeys);
        var stepSize = Int(scheduler, "scheduler", "step-size") ?? defaults.StepSize;
        Check(stepSize >= 1, "scheduler.step-size", $"'scheduler.step-size' must be at least 1 epoch, but is {stepSize}.");
        var gamma = Double(scheduler, "scheduler", "gamma") ?? defaults.Gamma;
        Check(gamma > 0, "scheduler.gamma", $"'scheduler.gamma' must be greater than 0, but is {Format(gamma)}; 0.1 divides the rate by ten at each step.");
        var tMax = Int(scheduler, "scheduler", "t-max") ?? defaults.TMax;
        Check(tMax >= 0, "scheduler.t-max", $"'scheduler.t-max' must be 0 (the number of epochs) or more, but is {tMax}.");
        var minLr = Double(scheduler, "scheduler", "min-lr") ?? defaults.MinLearningRate;
        Check(minLr >= 0, "scheduler.min-lr", $"'scheduler.min-lr' must be 0 or more, but is {Format(minLr)}.");
        return new SchedulerSection
        {
            Type = ComponentType(scheduler, "scheduler", Components.ComponentKind.Scheduler) ?? defaults.Type,
            StepSize = stepSize,
            Gamma = gamma,
            TMax = tMax,
            MinLearningRate = minLr,
        };
    }

    CheckpointSection ReadCheckpoint()
    {
        var defaults = new CheckpointSection();
        var checkpoint = Block(root, "", "checkpoint", required: null);
        if (checkpoint is null)
            return defaults;
        CheckKeys(checkpoint, "checkpoint", CheckpointKeys);
        var every = Int(checkpoint, "checkpoint", "every-epochs") ?? defaults.EveryEpochs;
        Check(every >= 0, "checkpoint.every-epochs", $"'checkpoint.every-epochs' must be 0 (only at the end) or more, but is {every}.");
        var keep = Int(checkpoint, "checkpoint", "keep") ?? defaults.Keep;
        Check(keep >= 0, "checkpoint.keep", $"'checkpoint.keep' must be 0 (keep all) or more, but is {keep}.");
        return new CheckpointSection
        {
            EveryEpochs = every,
            Keep = keep,
            Best = String(checkpoint, "checkpoint", "best"),
            BestMode = OneOf(checkpoint, "checkpoint", "best-mode", BestModes),
        };
    }

    DataParallelSection ReadDataParallel(int workers)
    {
        var defaults = new DataParallelSection();
        var dataParallel = Block(root, "", "data-parallel", required: null);
        if (dataParallel is null)
            return defaults;
        CheckKeys(dataParallel, "data-parallel", DataParallelKeys);
        var minWorkers = Int(dataParallel, "data-parallel", "min-workers") ?? defaults.MinWorkers;
        Check(minWorkers >= 1, "data-parallel.min-workers", $"'data-parallel.min-workers' must be at least 1, but is {minWorkers}.");
        Check(minWorkers <= workers, "data-parallel.min-workers",
            $"'data-parallel.min-workers' is {minWorkers}, but 'workers' is {workers}: a run cannot need more workers than it has. "
            + $"Lower min-workers to {workers} or less, or raise workers to {minWorkers} or more.");
        var replacementWait = Duration(dataParallel, "data-parallel", "replacement-wait", "60 s") ?? defaults.ReplacementWait;
        var bucketBytes = ByteSize(dataParallel, "data-parallel", "bucket-size", "4 MiB") ?? defaults.BucketBytes;
        Check(bucketBytes is >= MinBucketBytes and <= MaxBucketBytes, "data-parallel.bucket-size",
            $"'data-parallel.bucket-size' must be between 4 bytes (one float) and 1 GiB, but is {bucketBytes} bytes. Write e.g. bucket-size = 4 MiB.");
        var timeout = Duration(dataParallel, "data-parallel", "timeout", "30 s") ?? defaults.Timeout;
        Check(timeout > TimeSpan.Zero, "data-parallel.timeout", $"'data-parallel.timeout' must be longer than 0, but is {ExperimentHoconWriter.Duration(timeout)}. Write e.g. timeout = 30 s.");
        var transport = OneOf(dataParallel, "data-parallel", "transport", Transports) ?? defaults.Transport;
        return new DataParallelSection
        {
            Transport = transport,
            MinWorkers = minWorkers,
            ReplacementWait = replacementWait,
            BucketBytes = (int)bucketBytes,
            Timeout = timeout,
        };
    }

    const long MinBucketBytes = sizeof(float);
    const long MaxBucketBytes = 1L << 30;

    IReadOnlyList<ExtensionSection> ReadExtensions()
    {
        if (Value(root, "extensions") is not { } value)
            return [];
        if (!IsList(value))
            Fail("extensions", $"'extensions' must be a list of blocks, e.g. extensions = [ {{ type = progress }} ], but is {Describe(value)}.");
        var sections = new List<ExtensionSection>();
        foreach (var (element, index) in Items(value).Select((e, i) => (e, i)))
        {
            var path = $"extensions[{index}]";
            if (!element.IsObject())
                Fail(path, $"each extension is a block with a type, e.g. {{ type = progress }}, but '{path}' is {Describe(element)}.");
            var block = element.GetObject();
            var type = RequiredString(block, path, "type", "{ type = progress }");
            if (extensionTypes is not null && !extensionTypes.Contains(type))
                Fail($"{path}.type",
                    $"unknown extension type '{type}'.{Stages.DidYouMean.Hint(type, extensionTypes)} Known types: {string.Join(", ", extensionTypes.Order(StringComparer.Ordinal))}.");
            var settings = SimpleValues(block, path, "extension settings");
            settings.Remove("type");
            sections.Add(new ExtensionSection(type, settings));
        }
        return sections;
    }

    // ---- typed access ----------------------------------------------------------------------------------------

    void CheckKeys(HoconObject block, string prefix, IReadOnlyList<string> known)
    {
        foreach (var key in block.Items.Keys)
        {
            if (known.Contains(key))
                continue;
            var where = prefix.Length == 0 ? "at the top level" : $"in '{prefix}'";
            Fail(Join(prefix, key),
                $"unknown key '{Join(prefix, key)}'.{Stages.DidYouMean.Hint(key, known)} Known keys {where}: {string.Join(", ", known)}.");
        }
    }

    /// <summary>The value at <paramref name="key"/>, or null when absent or HOCON <c>null</c>.</summary>
    static HoconValue? Value(HoconObject block, string key) =>
        block.Items.TryGetValue(key, out var value) && !IsNull(value) ? value : null;

    static bool IsNull(HoconValue value) =>
        value.Values.Count == 0 || (!value.IsObject() && !IsList(value) && value.GetString() is null);

    // Akka's parser is uneven with empty lists ("[]" is not IsArray(), "[ ]" holds one value-less element) and keeps
    // the spaces after a list ("[1, 2]  # comment") as a literal concatenated to it; both are lists here.
    static bool IsList(HoconValue value) =>
        value.Values.Any(v => v is HoconArray)
        && value.Values.All(v => v is HoconArray || (v is HoconLiteral literal && string.IsNullOrWhiteSpace(literal.Value)));

    static IEnumerable<HoconValue> Items(HoconValue list) =>
        list.Values.OfType<HoconArray>().SelectMany(items => items).Where(item => item.Values.Count > 0);

    HoconObject? Block(HoconObject parent, string prefix, string key, string? required)
    {
        var path = Join(prefix, key);
        var value = Value(parent, key);
        if (value is null)
        {
            if (required is not null)
                Missing<HoconObject>(prefix, key, required);
            return null;
        }
        if (!value.IsObject())
            Fail(path, $"'{path}' must be a block, e.g. {key} {{ ... }}, but is {Describe(value)}.");
        return value.GetObject();
    }

    string? Literal(HoconObject block, string prefix, string key, string expected, string example)
    {
        var value = Value(block, key);
        if (value is null)
            return null;
        if (value.IsObject() || IsList(value))
            Fail(Join(prefix, key), $"'{Join(prefix, key)}' must be {expected}, but is {Describe(value)}. Write e.g. {example}.");
        return value.GetString();
    }

    string? String(HoconObject block, string prefix, string key) =>
        Literal(block, prefix, key, "text", $"{key} = \"...\"");

    string RequiredString(HoconObject block, string prefix, string key, string example) =>
        String(block, prefix, key) ?? Missing<string>(prefix, key, example);

    /// <summary>A block's <c>type</c>: with the components known, one of theirs (the built-ins' or a project's), else any name
    /// (checked when the run builds it).</summary>
    string? ComponentType(HoconObject block, string prefix, Components.ComponentKind kind) =>
        components is null ? String(block, prefix, "type") : OneOf(block, prefix, "type", components.Names(kind));

    string? OneOf(HoconObject block, string prefix, string key, IReadOnlyList<string> allowed)
    {
        var text = String(block, prefix, key);
        if (text is null)
            return null;
        var normalized = text.Trim().ToLowerInvariant();
        if (!allowed.Contains(normalized))
            Fail(Join(prefix, key),
                $"'{Join(prefix, key)}' must be one of {string.Join(", ", allowed)}, but is \"{text}\".{Stages.DidYouMean.Hint(text, allowed)}");
        return normalized;
    }

    int? Int(HoconObject block, string prefix, string key)
    {
        var text = Literal(block, prefix, key, "a whole number", $"{key} = 10");
        if (text is null)
            return null;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            return value;
        var hint = NumberPattern().IsMatch(text) ? "" : " Numbers are written without quotes or units.";
        Fail(Join(prefix, key), $"'{Join(prefix, key)}' must be a whole number, but is \"{text}\". Write e.g. {key} = 10.{hint}");
        return null;
    }

    int RequiredInt(HoconObject block, string prefix, string key, string example) =>
        Int(block, prefix, key) ?? Missing<int>(prefix, key, example);

    long? Long(HoconObject block, string prefix, string key)
    {
        var text = Literal(block, prefix, key, "a whole number", $"{key} = 42");
        if (text is null)
            return null;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            return value;
        Fail(Join(prefix, key), $"'{Join(prefix, key)}' must be a whole number, but is \"{text}\". Write e.g. {key} = 42.");
        return null;
    }

    double? Double(HoconObject block, string prefix, string key)
    {
        var text = Literal(block, prefix, key, "a number", $"{key} = 0.5");
        if (text is null)
            return null;
        if (NumberPattern().IsMatch(text) && double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture) is var value && double.IsFinite(value))
            return value;
        Fail(Join(prefix, key), $"'{Join(prefix, key)}' must be a number, but is \"{text}\". Write e.g. {key} = 0.5 (no quotes).");
        return null;
    }

    /// <summary>
    /// A HOCON duration (<c>60 s</c>, <c>2m</c>, <c>500ms</c>), 0 or longer. A bare number other than 0 is refused:
    /// HOCON would read it as milliseconds, which is rarely what <c>timeout = 30</c> means.
    /// </summary>
    TimeSpan? Duration(HoconObject block, string prefix, string key, string example)
    {
        var path = Join(prefix, key);
        var text = Literal(block, prefix, key, "a duration", $"{key} = {example}");
        if (text is null)
            return null;
        var trimmed = text.Trim();
        if (NumberPattern().IsMatch(trimmed) && double.Parse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture) != 0)
            Fail(path, $"'{path}' needs a unit, but is \"{text}\" (HOCON would read a bare number as milliseconds). Write {key} = {trimmed} s for seconds or {key} = {trimmed} ms for milliseconds.");
        if (trimmed.StartsWith('-'))
            Fail(path, $"'{path}' must be 0 or longer, but is \"{text}\". Write e.g. {key} = {example}.");
        try
        {
            // allowInfinite: false, so "infinite" is refused rather than read as Akka's -1 ms.
            return Value(block, key)!.GetTimeSpan(allowInfinite: false);
        }
        catch (OverflowException)
        {
            Fail(path, $"'{path}' is \"{text}\", longer than a duration can be. Write e.g. {key} = {example}.");
            return null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or ConfigurationException)
        {
            Fail(path, $"'{path}' must be a duration such as {example}, 500 ms or 2 m (units: ms, s, m, h, d), but is \"{text}\". Write e.g. {key} = {example}.");
            return null;
        }
    }

    /// <summary>A HOCON size in bytes: a plain number of bytes or one with a unit (<c>4 MiB</c>, <c>512 KiB</c>, <c>1 GiB</c>).</summary>
    long? ByteSize(HoconObject block, string prefix, string key, string example)
    {
        var path = Join(prefix, key);
        var text = Literal(block, prefix, key, "a size in bytes", $"{key} = {example}");
        if (text is null)
            return null;
        long? bytes;
        try
        {
            bytes = Value(block, key)!.GetByteSize();
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or ConfigurationException)
        {
            bytes = null;
        }
        if (bytes is not null)
            return bytes;
        Fail(path, $"'{path}' must be a size in bytes such as {example}, 512 KiB or 65536 (units: bytes, KiB, MiB, GiB; whole numbers), but is \"{text}\". Write e.g. {key} = {example}.");
        return null;
    }

    bool? Bool(HoconObject block, string prefix, string key)
    {
        var text = Literal(block, prefix, key, "true or false", $"{key} = true");
        if (text is null)
            return null;
        switch (text.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "on": return true;
            case "false" or "no" or "off": return false;
        }
        Fail(Join(prefix, key), $"'{Join(prefix, key)}' must be true or false, but is \"{text}\".");
        return null;
    }

    /// <summary>Free-form settings: numbers (long or double), booleans, text, null, and lists of those.</summary>
    Dictionary<string, object?> SimpleValues(HoconObject block, string prefix, string what)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in block.Items)
        {
            var path = Join(prefix, key);
            if (value.IsObject())
                Fail(path, $"'{path}' is a block, but {what} must be numbers, booleans, text or lists of those. Write e.g. {key} = [256, 128].");
            if (IsList(value))
            {
                var list = new List<object?>();
                foreach (var (element, index) in Items(value).Select((e, i) => (e, i)))
                {
                    if (element.IsObject() || IsList(element))
                        Fail($"{path}[{index}]", $"'{path}' holds {Describe(element)}, but lists in {what} may only hold numbers, booleans or text, e.g. {key} = [64, 32].");
                    list.Add(Infer(element.GetString()));
                }
                values[key] = list;
            }
            else
                values[key] = IsNull(value) ? null : Infer(value.GetString());
        }
        return values;
    }

    /// <summary>
    /// The CLR value of an untyped literal, the same kinds <see cref="Models.ModelSpec.FromJson"/> produces: long for
    /// whole numbers, double for other numbers, bool, or text. (Akka's parser drops quotes, so "42" is a number too.)
    /// </summary>
    internal static object? Infer(string? text)
    {
        if (text is null)
            return null;
        if (text is "true" or "false")
            return text == "true";
        if (!NumberPattern().IsMatch(text))
            return text;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
            return whole;
        return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    // ---- failures --------------------------------------------------------------------------------------------

    void Check(bool ok, string path, string message)
    {
        if (!ok)
            Fail(path, message);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    void Fail(string path, string message)
    {
        var (origin, line) = locate(path);
        throw new ExperimentException(message, origin, line, path);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    T Missing<T>(string prefix, string key, string example)
    {
        var path = Join(prefix, key);
        var where = prefix.Length == 0 ? "" : $" inside '{prefix}'";
        var (origin, line) = locate(prefix.Length == 0 ? path : prefix);
        throw new ExperimentException($"'{path}' is required but missing. Add it{where}, e.g. {example}.", origin, line, path);
    }

    static string Join(string prefix, string key) => prefix.Length == 0 ? key : $"{prefix}.{key}";

    static string Describe(HoconValue value) =>
        value.IsObject() ? "a block { ... }"
        : IsList(value) ? $"a list [{string.Join(", ", Items(value))}]"
        : $"\"{value.GetString()}\"";

    static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"^(cpu|cuda|cuda:\d+)$")]
    private static partial Regex DevicePattern();
}
