using System.Diagnostics;
using TorchSharp;
using TrainManager.Checkpoints;
using TrainManager.Components;
using TrainManager.Data;
using TrainManager.Experiments;
using TrainManager.Models;
using TrainManager.Runtime;
using TrainManager.Stages;
using TrainManager.Tasks;
using static TorchSharp.torch;

namespace TrainManager.Training;

/// <summary>
/// Fit, evaluate and predict, as extensible methods with the stages of <see cref="TrainerStages.Tree"/>:
/// fit &gt; epoch &gt; train &gt; batch &gt; (forward, loss, backward, step), validate &gt; eval_batch &gt; forward,
/// checkpoint; then test. Every tensor lives on the configured device; each batch runs in its own dispose scope.
/// <para>The loop does not know the task: the loss and the metrics come from the experiment's <c>task</c>
/// (<see cref="ConfiguredTask"/>). Each epoch is evaluated on the validation split when there is one (<c>val_loss</c>,
/// <c>val_&lt;metric&gt;</c>), on the test split otherwise (<c>test_loss</c>, <c>test_&lt;metric&gt;</c>); with a
/// validation split, the test split is evaluated once, when the fit has run to its end. Epochs are numbered from 1
/// wherever a person reads them (the <c>epoch</c> fixture, checkpoint names, metrics files).</para>
/// </summary>
public sealed class Trainer : Extensible, IDisposable
{
    private readonly TrainerSetup _setup;
    private readonly TorchSharp.Modules.OptimizerHelper _optimizer;
    private readonly LearningRateSchedule _schedule;
    private readonly EpochSampler _sampler;
    private int _nextEpoch;
    /// <summary>The unreduced loss costs an extra kernel each way; it is computed when some hook asks for it.</summary>
    private bool _perSampleLossWanted;
    private int _resumeBatch;
    /// <summary>Where the resumed epoch's batches start in its permutation: 0, unless it was stopped under another world size.</summary>
    private long _resumeShardedFrom;
    private long _step;
    /// <summary>Decides when checkpoints are written and writes them; null where this trainer writes none.</summary>
    private readonly CheckpointingExtension? _checkpointing;

    public Trainer(TrainerSetup setup, params Extension[] extensions) : base()
    {
        _setup = setup;
        if (setup.Experiment.Threads > 0) torch.set_num_threads(setup.Experiment.Threads);
        Device = TorchDevice.Parse(setup.Experiment.Device);
        Model = setup.Model;
        Model.Module.to(Device);
        _optimizer = setup.Components.CreateOptimizer(setup.Experiment.Optimizer, Model.Module.parameters());
        _schedule = setup.Components.CreateSchedule(setup.Experiment.Scheduler, _optimizer, setup.Experiment.Epochs);
        _sampler = new EpochSampler(setup.TrainData.Count, setup.Experiment.BatchSize, setup.Experiment.Seed,
            rank: setup.Rank, worldSize: setup.WorldSize);
        Task = ConfiguredTask.Create(setup.Task ?? setup.Components.CreateTask(setup.Experiment.Task), setup.Experiment.Task, setup.Experiment.Checkpoint);
        EpochSplit = setup.ValidationData is null ? ConfiguredTask.Test : ConfiguredTask.Validation;
        if (Task.Best.Split is { } split && split != EpochSplit)
            throw new ExperimentException(
                $"'checkpoint.best' is '{Task.Best.KeyFor(split)}', but each epoch is evaluated on the {(EpochSplit == ConfiguredTask.Test ? "test split (this run has no validation split)" : "validation split")}, " +
                $"so it reports {Task.Best.KeyFor(EpochSplit)}. Write best = {Task.Best.Metric}, which follows whichever split is evaluated each epoch.",
                keyPath: "checkpoint.best");
        // Rank 0 writes the checkpoints of a data-parallel run; every rank restores them.
        if (setup.Run is not null && setup.Rank == 0)
            Register(_checkpointing = new CheckpointingExtension(new CheckpointStore(setup.Run.CheckpointDirectory, setup.CheckpointKey),
                setup.Experiment.Checkpoint, setup.Experiment.Epochs, BestMetricKey, Task.Best));
        // In a data-parallel run, extensions that write files do so once, on rank 0.
        foreach (var extension in extensions)
            if (setup.Rank == 0 || extension.Ranks == RankScope.All) Register(extension);
    }

    /// <summary>Builds the model, data and trainer an experiment describes. The instantiation parameters are
    /// recorded in the run directory before anything is trained or loaded.</summary>
    /// <param name="checkpointKey">Signs the checkpoints this trainer writes and authenticates the one it resumes from;
    /// null: unsigned checkpoints, checked by their checksum only (see <see cref="CheckpointStore"/>).</param>
    /// <param name="catalog">Where the experiment's model (and its other components) come from.</param>
    /// <param name="dataRoots">The folders the data source may read (a cluster node's data roots); null: any.</param>
    /// <param name="expectedData">The fingerprint of the data the run was submitted with (<see cref="DatasetFingerprint.Measure"/>
    /// on the submitting machine); the data opened here is refused when it differs. Null: not recorded, no check.</param>
    /// <exception cref="DatasetMismatchException">The data here differs from <paramref name="expectedData"/>.</exception>
    public static Trainer FromExperiment(Experiment experiment, ComponentCatalog catalog, RunDirectory? run, IReadOnlyList<Extension> extensions,
        int rank = 0, int worldSize = 1, CheckpointKey? checkpointKey = null, IReadOnlyList<string>? dataRoots = null,
        DatasetFingerprint? expectedData = null)
    {
        TorchRuntime.EnsureLoaded();
        ArgumentNullException.ThrowIfNull(catalog);
        ModelInstance model;
        lock (CpuRandomState.Gate)
        {
            CpuRandomState.Seed(experiment.Seed);
            model = catalog.Models.Create(new ModelSpec(experiment.Model.Type, experiment.Model.Arguments));
        }
        DataSplits data;
        try
        {
            data = DataSources.Open(experiment, catalog, run, rank, worldSize, dataRoots, expectedData);
        }
        catch
        {
            // Data refused or missing: the model built for it is released here, not left to the finalizer.
            model.Dispose();
            throw;
        }
        var setup = new TrainerSetup(experiment, model, data.Train, data.Test, catalog, run, rank, worldSize, checkpointKey, data.Validation);
        run?.WriteJson("instantiation.json", Instantiation.Describe(experiment, model.Spec, extensions));
        return new Trainer(setup, extensions.ToArray());
    }

    protected override StageTree DeclareStages() => TrainerStages.Tree;

    public Experiment Experiment => _setup.Experiment;
    public ModelInstance Model { get; }
    public Device Device { get; }
    public optim.Optimizer Optimizer => _optimizer;

    /// <summary>The task: the loss, the metrics each evaluated split reports, and what the best checkpoint follows.</summary>
    public ConfiguredTask Task { get; }

    /// <summary>The split evaluated after every epoch: <c>val</c> when there is a validation split, <c>test</c> otherwise.</summary>
    public string EpochSplit { get; }

    /// <summary>The epoch metric the best checkpoint follows, e.g. <c>val_accuracy</c>.</summary>
    public string BestMetricKey => Task.Best.KeyFor(EpochSplit);

    public CheckpointStore? Checkpoints => _setup.Run is null ? null : new CheckpointStore(_setup.Run.CheckpointDirectory, _setup.CheckpointKey);
    public RunDirectory? Run => _setup.Run;
    public int BatchesPerEpoch => _sampler.BatchesPerEpoch;
    public long Step => _step;

    public double LearningRate => _schedule.LearningRate;

    /// <summary>Trains for the experiment's epochs, from the start or from a checkpoint.</summary>
    public FitResult Fit(string? resumeFrom = null)
    {
        if (resumeFrom is not null) Restore(resumeFrom);
        _perSampleLossWanted = PerSampleLossWanted;
        var experiment = _setup.Experiment;
        var watch = Stopwatch.StartNew();
        var history = new List<IReadOnlyDictionary<string, double>>();
        string? lastCheckpoint = resumeFrom;
        using var metricsLog = _setup.Run is null ? null : new MetricsLog(_setup.Run.MetricsDirectory, append: resumeFrom is not null);
        IReadOnlyDictionary<string, double> testMetrics = new Dictionary<string, double>();

        using (Staged("fit",
                   ("model", Model.Module), ("optimizer", _optimizer), ("device", Device), ("epochs", experiment.Epochs),
                   ("batches_per_epoch", _sampler.BatchesPerEpoch), ("batch_size", experiment.BatchSize),
                   ("train_data", _setup.TrainData), ("validation_data", _setup.ValidationData), ("test_data", _setup.TestData),
                   ("task", Task), ("run_dir", _setup.Run?.Path),
                   ("seed", experiment.Seed), ("rank", _setup.Rank), ("world_size", _setup.WorldSize), ("model_spec", Model.Spec)))
        {
            // epoch is the sampler's 0-based index; hooks, files and people see its number, epoch + 1.
            for (var epoch = _nextEpoch; epoch < experiment.Epochs && !StopRequested; epoch++)
            {
                // Everything native made during the epoch (its hooks, validation, the checkpoint) is owned by a scope on
                // this thread, released when the epoch ends; each batch has its own scope inside it.
                using var epochTensors = NewDisposeScope();
                using var epochScope = Staged("epoch", ("epoch", epoch + 1));
                if (epochScope.Skipped) break;
                var epochWatch = Stopwatch.StartNew();
                var (fromBatch, shardedFrom) = (_resumeBatch, _resumeShardedFrom);
                (_resumeBatch, _resumeShardedFrom) = (0, 0);
                var (trainLoss, samplesPerSecond, batchesDone) = TrainEpoch(epoch, fromBatch, shardedFrom, metricsLog);
                if (batchesDone < _sampler.BatchesPerEpoch)
                {
                    // Stopped mid-epoch: no validation (its metrics are NaN, which extensions show as missing), and the
                    // checkpoint says where in the epoch to go on from. PostEpoch hooks still run, on what there is.
                    _nextEpoch = epoch;
                    (_resumeBatch, _resumeShardedFrom) = (batchesDone, shardedFrom);
                    var partial = EpochMetrics(trainLoss, SplitMetrics(EpochSplit, null), samplesPerSecond, epochWatch.Elapsed);
                    Fixtures["metrics"] = partial;
                    if (_checkpointing?.IsDueAtStop() == true)
                        lastCheckpoint = WriteCheckpoint(epoch, batchesDone, shardedFrom, partial);
                    break;
                }
                var evaluated = Validate(EpochSplit, _setup.ValidationData ?? _setup.TestData);
                var metrics = EpochMetrics(trainLoss, SplitMetrics(EpochSplit, evaluated), samplesPerSecond, epochWatch.Elapsed);
                _schedule.Step();
                _nextEpoch = epoch + 1;
                Fixtures["metrics"] = metrics;
                history.Add(metrics);
                metricsLog?.Epoch(epoch + 1, metrics);
                if (_checkpointing?.IsDueAfter(epoch, metrics, StopRequested) == true)
                    lastCheckpoint = WriteCheckpoint(epoch, _sampler.BatchesPerEpoch, 0, metrics);
            }
            if (_setup.ValidationData is not null && history.Count > 0 && _nextEpoch >= experiment.Epochs)
                using (var test = Staged("test", ("split", ConfiguredTask.Test)))
                    if (!test.Skipped)
                    {
                        var result = EvaluateBatches(_setup.TestData);
                        Fixtures["eval_loss"] = result.Loss;
                        Fixtures["eval_metrics"] = result.Metrics;
                        testMetrics = SplitMetrics(ConfiguredTask.Test, result);
                        metricsLog?.Test(testMetrics);
                    }
            var last = history.Count > 0 ? history[^1] : new Dictionary<string, double>();
            var final = new Dictionary<string, double> { ["train_loss"] = last.GetValueOrDefault("train_loss", double.NaN) };
            foreach (var (key, value) in SplitMetrics(EpochSplit, null)) final[key] = last.GetValueOrDefault(key, value);
            foreach (var (key, value) in testMetrics) final[key] = value;
            var fitResult = new FitResult(_nextEpoch, final, watch.Elapsed, history, lastCheckpoint, Engine.StopReason)
            {
                BestCheckpoint = _setup.Run is { } run && BestCheckpoint.Read(run.CheckpointDirectory) is { } b && b.Metric == BestMetricKey
                    ? b.PathIn(run.CheckpointDirectory) : null,
                BestMetric = BestMetricKey,
                BestMode = Task.Best.Mode,
            };
            Fixtures["result"] = fitResult;
            return fitResult;
        }
    }

    /// <summary>An epoch's metrics in the order reports show them.</summary>
    private Dictionary<string, double> EpochMetrics(double trainLoss, IReadOnlyDictionary<string, double> evaluated, double samplesPerSecond, TimeSpan elapsed)
    {
        var metrics = new Dictionary<string, double> { ["train_loss"] = trainLoss };
        foreach (var (key, value) in evaluated) metrics[key] = value;
        metrics["lr"] = LearningRate;
        metrics["samples_per_second"] = samplesPerSecond;
        metrics["epoch_seconds"] = elapsed.TotalSeconds;
        return metrics;
    }

    /// <summary><c>&lt;split&gt;_loss</c> and <c>&lt;split&gt;_&lt;metric&gt;</c> for every configured metric; NaN where
    /// <paramref name="result"/> is null (the split was not evaluated).</summary>
    private Dictionary<string, double> SplitMetrics(string split, EvalResult? result)
    {
        var metrics = new Dictionary<string, double> { [$"{split}_loss"] = result?.Loss ?? double.NaN };
        foreach (var metric in Task.Metrics)
            metrics[$"{split}_{metric.Name}"] = result?.Metrics.GetValueOrDefault(metric.Name, double.NaN) ?? double.NaN;
        return metrics;
    }

    /// <summary>Whether any registered hook reads <c>per_sample_loss</c> (set <see cref="AlwaysComputePerSampleLoss"/> for code
    /// that reads it through <see cref="Extensible.Fixtures"/> instead).</summary>
    private bool PerSampleLossWanted => AlwaysComputePerSampleLoss ||
        Engine.Hooks.Any(h => h.Parameters.Any(p => p.Fixture == "per_sample_loss"));

    public bool AlwaysComputePerSampleLoss { get; set; }

    /// <returns>The mean training loss, the throughput, and the index of the next batch (all of them when the epoch ran to its end).</returns>
    /// <remarks>A partial epoch (resumed under another world size, <paramref name="shardedFrom"/> &gt; 0) numbers its
    /// batches so that its last one is still <see cref="EpochSampler.BatchesPerEpoch"/> − 1.</remarks>
    private (double Loss, double SamplesPerSecond, int BatchesDone) TrainEpoch(int epoch, int fromBatch, long shardedFrom, MetricsLog? metricsLog)
    {
        using var train = Staged("train");
        Model.Module.train();
        var accumulate = Math.Max(1, _setup.Experiment.Accumulate);
        var clip = _setup.Experiment.GradientClip;
        double lossSum = 0;
        long samples = 0;
        var watch = Stopwatch.StartNew();
        var batchIndex = fromBatch;
        _optimizer.zero_grad();
        foreach (var indices in _sampler.Batches(epoch, fromBatch, shardedFrom))
        {
            if (StopRequested) break;
            using var scope = NewDisposeScope();
            using var data = _setup.TrainData.GetBatch(indices);
            var inputs = data.Input.to(Device);
            var targets = data.Target.to(Device);
            var lr = LearningRate;
            using var batch = Staged("batch", ("batch_index", batchIndex), ("step", _step), ("inputs", inputs),
                ("targets", targets), ("sample_indices", indices), ("learning_rate", lr));
            batchIndex++;
            if (batch.Skipped) continue;
            // Hooks may have replaced the batch (augmentation, curriculum): read it back.
            inputs = Fixtures.Get<Tensor>("inputs");
            targets = Fixtures.Get<Tensor>("targets");

            using (var forward = Staged("forward"))
            {
                if (forward.Skipped) continue;
                Fixtures.DefineIn("batch", "prediction", Model.Module.call(inputs));
            }
            Tensor loss;
            using (var lossStage = Staged("loss"))
            {
                if (lossStage.Skipped) continue;
                var prediction = Fixtures.Get<Tensor>("prediction");
                if (_perSampleLossWanted)
                {
                    var perSample = Task.PerSampleLoss(prediction, targets);
                    loss = perSample.mean();
                    Fixtures.DefineIn("batch", "per_sample_loss", perSample);
                }
                else loss = Task.Loss(prediction, targets);
                Fixtures.DefineIn("batch", "loss", loss);
            }
            using (var backward = Staged("backward"))
            {
                if (backward.Skipped) continue;
                if (accumulate > 1)
                {
                    using var parts = ((double)accumulate).ToScalar();
                    loss.div(parts).backward();
                }
                else loss.backward();
            }
            if (batchIndex % accumulate == 0 || batchIndex == _sampler.BatchesPerEpoch)
            {
                using var stepStage = Staged("step");
                if (!stepStage.Skipped)
                {
                    if (clip > 0) GradientClipping.ClipByGlobalNorm(Model.Module.parameters(), clip);
                    _optimizer.step();
                }
                _optimizer.zero_grad();
            }
            var lossValue = loss.item<float>();
            lossSum += lossValue * indices.Length;
            samples += indices.Length;
            _step++;
            metricsLog?.Batch(epoch + 1, batchIndex - 1, _step, lossValue, lr);
        }
        var trainLoss = samples > 0 ? lossSum / samples : double.NaN;
        // The run's throughput: in a data-parallel run every rank trains a batch of the same size in each step.
        var samplesPerSecond = samples * _setup.WorldSize / Math.Max(watch.Elapsed.TotalSeconds, 1e-9);
        Fixtures["train_loss"] = trainLoss;
        Fixtures["samples_per_second"] = samplesPerSecond;
        return (trainLoss, samplesPerSecond, batchIndex);
    }

    private EvalResult? Validate(string split, IDataset data)
    {
        using var validate = Staged("validate", ("split", split));
        if (validate.Skipped) return null;
        var result = EvaluateBatches(data);
        Fixtures["eval_loss"] = result.Loss;
        Fixtures["eval_metrics"] = result.Metrics;
        return result;
    }

    /// <summary>Evaluates the model on <paramref name="data"/> (the test split by default); the <c>metrics</c> fixture
    /// names the values <c>&lt;split&gt;_loss</c> and <c>&lt;split&gt;_&lt;metric&gt;</c>.</summary>
    public EvalResult Evaluate(IDataset? data = null, string split = ConfiguredTask.Test)
    {
        data ??= _setup.TestData;
        using var tensors = NewDisposeScope();
        using var evaluate = Staged("evaluate", ("model", Model.Module), ("device", Device), ("data", data), ("split", split), ("task", Task));
        var result = EvaluateBatches(data);
        Fixtures["eval_loss"] = result.Loss;
        Fixtures["eval_metrics"] = result.Metrics;
        Fixtures["metrics"] = SplitMetrics(split, result);
        return result;
    }

    /// <summary>The task's loss and metrics over the whole of <paramref name="data"/>: each metric accumulates across
    /// the batches, so its value is exact for the split.</summary>
    private EvalResult EvaluateBatches(IDataset data)
    {
        var wasTraining = Model.Module.training;
        Model.Module.eval();
        using var noGrad = no_grad();
        var batchSize = _setup.Experiment.EvalBatchSize ?? _setup.Experiment.BatchSize * 4;
        var accumulators = Task.NewAccumulators();
        double lossSum = 0;
        long total = 0;
        var batchIndex = 0;
        for (long start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var indices = new long[Math.Min(batchSize, data.Count - start)];
            for (var i = 0; i < indices.Length; i++) indices[i] = start + i;
            using var batch = data.GetBatch(indices);
            var inputs = batch.Input.to(Device);
            var targets = batch.Target.to(Device);
            using var stage = Staged("eval_batch", ("batch_index", batchIndex++), ("inputs", inputs), ("targets", targets), ("sample_indices", indices));
            if (stage.Skipped) continue;
            using (Staged("forward"))
                Fixtures.DefineIn("eval_batch", "prediction", Model.Module.call(inputs));
            var prediction = Fixtures.Get<Tensor>("prediction");
            var perSample = Task.PerSampleLoss(prediction, targets);
            Fixtures["per_sample_loss"] = perSample;
            Fixtures["loss"] = perSample.mean();
            lossSum += perSample.sum().item<float>();
            foreach (var (_, metric) in accumulators) metric.Update(prediction, targets);
            total += indices.Length;
        }
        if (wasTraining) Model.Module.train();
        var metrics = accumulators.ToDictionary(a => a.Name, a => total > 0 ? a.Metric.Compute() : double.NaN);
        return new EvalResult(total > 0 ? lossSum / total : double.NaN, metrics, total);
    }

    /// <summary>Class scores for <paramref name="inputs"/> (a batch), on the configured device.</summary>
    public Tensor Predict(Tensor inputs)
    {
        var wasTraining = Model.Module.training;
        Model.Module.eval();
        try
        {
            using var noGrad = no_grad();
            var onDevice = inputs.to(Device);
            using var predict = Staged("predict", ("model", Model.Module), ("device", Device), ("inputs", onDevice));
            var prediction = Model.Module.call(onDevice);
            Fixtures["prediction"] = prediction;
            return prediction;
        }
        finally
        {
            if (wasTraining) Model.Module.train();
        }
    }

    /// <summary>The <c>checkpoint</c> stage after <paramref name="epoch"/> (its 0-based index): it exposes what a checkpoint
    /// holds (model, optimizer, RNG through the sampler state, the instantiation parameters, the epoch's metrics and the
    /// state of every extension that has state), which <see cref="CheckpointingExtension"/> writes.</summary>
    /// <returns>The checkpoint written.</returns>
    private string WriteCheckpoint(int epoch, int batchesDone, long shardedFrom, IReadOnlyDictionary<string, double> metrics)
    {
        var states = Extensions.OfType<IStatefulExtension>().ToDictionary(e => ((Extension)e).Name, e => e.SaveState());
        states["trainer.metrics"] = ExtensionState.FromJson(System.Text.Json.JsonSerializer.Serialize(metrics, MetricsJson));
        var complete = batchesDone >= _sampler.BatchesPerEpoch;
        var sampler = complete ? _sampler.StateAt(epoch + 1, 0) : _sampler.StateAt(epoch, batchesDone, shardedFrom);
        var content = new CheckpointContent(Model.Module, _optimizer, new CheckpointMetadata(epoch, _step, Model.Spec, sampler, states), batchesDone, complete);
        using var stage = Staged("checkpoint", ("checkpoint_content", content));
        if (!stage.Skipped)
            return Fixtures.Get<string>("checkpoint_path");
        // A stopping routine runs no hooks, but the checkpoint the stop asks for is written all the same.
        var path = _checkpointing!.Write(content);
        Fixtures["checkpoint_path"] = path;
        return path;
    }

    /// <summary>Restores a checkpoint written by <see cref="CheckpointingExtension"/>: training goes on with the next epoch,
    /// on the same batches, learning rates and random numbers as a run that never stopped.</summary>
    public CheckpointInfo Restore(string checkpoint)
    {
        var store = new CheckpointStore(Path.GetDirectoryName(Path.GetFullPath(checkpoint))!, _setup.CheckpointKey);
        var info = store.ReadInfo(checkpoint);
        RequireEpochsLeft(checkpoint, info.Metadata, _setup.Experiment.Epochs);
        // No dispose scope here: loading optimizer state may create the state's tensors (SGD's momentum buffers), which
        // live as long as the optimizer.
        try
        {
            store.Load(checkpoint, Model.Module, _optimizer, restoreRng: true);
        }
        catch (Exception e) when (e is not CheckpointCorruptException && info.Metadata.Model is { } saved && saved.ToJson() != Model.Spec.ToJson())
        {
            // Free overrides (dropout, a threshold) load fine; this one changed the weights' shapes.
            throw new CheckpointMismatchException(
                $"Checkpoint {checkpoint} was written by model {saved}, but this run builds {Model.Spec}, whose weights do not fit: {e.Message} " +
                "Drop the override that changes a layer's size, or resume with the experiment the checkpoint came from (its run directory has experiment.hocon).", e);
        }
        // The sampler state says where to go on: the next epoch, or the next batch of an epoch stopped midway (for
        // this world size: one written under another goes on with the epoch's unvisited examples, resharded).
        var resume = info.Metadata.Sampler is { } samplerState ? _sampler.Resume(samplerState) : null;
        _nextEpoch = resume?.Epoch ?? info.Metadata.Epoch + 1;
        _resumeBatch = resume?.NextBatch ?? 0;
        _resumeShardedFrom = resume?.ShardedFrom ?? 0;
        _step = info.Metadata.Step;
        _schedule.FastForward(_nextEpoch);
        var states = info.Metadata.Extensions ?? new Dictionary<string, ExtensionState>();
        foreach (var extension in Extensions.OfType<IStatefulExtension>())
            if (states.TryGetValue(((Extension)extension).Name, out var state)) extension.LoadState(state);
        return info;
    }

    /// <summary>The epoch a run resuming from a checkpoint with <paramref name="metadata"/> goes on with.</summary>
    public static int NextEpoch(CheckpointMetadata metadata) => metadata.Sampler?.Epoch ?? metadata.Epoch + 1;

    /// <summary>Refuses a resume from a checkpoint that has trained more epochs than the experiment asks for: going on
    /// would report "epochs 3/2" and train nothing.</summary>
    /// <exception cref="CheckpointMismatchException">The message says how many epochs are done and what to set.</exception>
    public static void RequireEpochsLeft(string checkpoint, CheckpointMetadata metadata, int epochs)
    {
        var done = NextEpoch(metadata);
        if (done > epochs)
            throw new CheckpointMismatchException(
                $"Checkpoint {checkpoint} has {done} epoch(s) done, but the experiment asks for {epochs}: there is nothing left to train. " +
                $"Resume with more epochs (--set epochs={done + 1} or more), or evaluate it with: trainmanager eval {checkpoint}");
    }

    private static readonly System.Text.Json.JsonSerializerOptions MetricsJson =
        new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public void Dispose()
    {
        _optimizer.Dispose();
        Model.Dispose();
        (_setup.TrainData as IDisposable)?.Dispose();
        (_setup.TestData as IDisposable)?.Dispose();
        (_setup.ValidationData as IDisposable)?.Dispose();
    }
}

/// <summary>What a <see cref="Trainer"/> is built from.</summary>
/// <param name="CheckpointKey">Signs and authenticates checkpoints; null: unsigned, checksum only.</param>
/// <param name="ValidationData">Evaluated after every epoch when given (the test split then once, at the end).</param>
/// <param name="Components">Where the optimizer, the schedule and (unless <paramref name="Task"/> is given) the task come from.</param>
/// <param name="Task">The task, when built by the caller; null: the one the experiment names, from <paramref name="Components"/>.</param>
public sealed record TrainerSetup(Experiment Experiment, ModelInstance Model, IDataset TrainData, IDataset TestData,
    ComponentCatalog Components, RunDirectory? Run, int Rank = 0, int WorldSize = 1, CheckpointKey? CheckpointKey = null, IDataset? ValidationData = null,
    ITrainingTask? Task = null);
