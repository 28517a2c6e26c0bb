using TorchSharp.Modules;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Tasks;
using static TorchSharp.torch;

namespace TrainManager.Checkpoints;

/// <summary>
/// What a checkpoint holds, as the trainer exposes it on entry to its <c>checkpoint</c> stage (fixture
/// <c>checkpoint_content</c>): the model and optimizer to save, the metadata (epoch, step, model spec, sampler state, the
/// stateful extensions' states and the epoch's metrics), and how far into the epoch training got.
/// </summary>
/// <param name="BatchesDone">The batches of the epoch trained; fewer than the epoch has when it was stopped midway.</param>
public sealed record CheckpointContent(nn.Module Model, OptimizerHelper Optimizer, CheckpointMetadata Metadata, int BatchesDone, bool Complete);

/// <summary>
/// Checkpointing, among the extensions: it decides when the trainer writes a checkpoint (every
/// <c>checkpoint.every-epochs</c>, the last epoch, a stop, and any epoch that improves the best metric), writes it in the
/// trainer's <c>checkpoint</c> stage and sets <c>checkpoint_path</c> for the hooks after it, and keeps the
/// <c>checkpoint.keep</c> newest plus the best (<see cref="BestCheckpoint"/>). Inline and blocking: the file is on disk
/// before any other hook of the stage runs, so <c>checkpoint_path</c> names a file that exists.
/// <para>It lives in Trainer.Core, not among the built-in extensions (Extensions/), because every trainer that writes
/// checkpoints (rank 0 with a run directory) must have it and Trainer.Core cannot reference that project: the trainer
/// registers it itself from the experiment's <c>checkpoint</c> section. Restoring a checkpoint stays with the trainer,
/// which owns the state it restores into.</para>
/// </summary>
public sealed class CheckpointingExtension(CheckpointStore store, CheckpointSection settings, int epochs, string bestMetric, BestMetric best)
    : Extension
{
    /// <summary>The best value so far of the best metric, NaN before the first evaluation.</summary>
    double _bestValue = double.NaN;
    /// <summary>Whether the checkpoint being written is the new best.</summary>
    bool _improved;

    /// <summary>First among the pre hooks: <c>checkpoint_path</c> is set before any other hook of the stage reads it.</summary>
    public override int Order => int.MinValue;

    public override string Name => "checkpointing";

    /// <summary>A fit resumed in the same run directory goes on competing with the best checkpoint it already has.</summary>
    public void PreFit() =>
        _bestValue = BestCheckpoint.Read(store.Directory) is { } recorded && recorded.Metric == bestMetric ? recorded.Value : double.NaN;

    /// <summary>Whether the epoch (0-based <paramref name="epoch"/>) that ended with <paramref name="metrics"/> gets a
    /// checkpoint: the scheduled ones, the last, one where training stops, and the best so far even between the
    /// scheduled ones, since it is the one a person wants back.</summary>
    public bool IsDueAfter(int epoch, IReadOnlyDictionary<string, double> metrics, bool stopping)
    {
        _improved = MetricDefinition.Improves(best.Goal, metrics.GetValueOrDefault(bestMetric, double.NaN), _bestValue);
        if (_improved) _bestValue = metrics[bestMetric];
        var last = epoch == epochs - 1 || stopping;
        return last || _improved || (settings.EveryEpochs > 0 && (epoch + 1) % settings.EveryEpochs == 0);
    }

    /// <summary>An epoch stopped midway always gets a checkpoint (never the best: it was not evaluated), so the run can go
    /// on from where it stands.</summary>
    public bool IsDueAtStop()
    {
        _improved = false;
        return true;
    }

    [Provides("checkpoint_path")]
    public void PreCheckpoint(CheckpointContent checkpointContent, FixtureWriter fixtures) => fixtures.Add("checkpoint_path", Write(checkpointContent));

    /// <summary>Writes the checkpoint, records it as the best when it is, and deletes those beyond <c>checkpoint.keep</c>.
    /// The trainer calls it directly where its <c>checkpoint</c> stage is skipped: a routine that is stopping runs no
    /// hooks, but the checkpoint the stop asks for is written all the same.</summary>
    /// <returns>The checkpoint file.</returns>
    public string Write(CheckpointContent checkpointContent)
    {
        var c = checkpointContent;
        var epoch = c.Metadata.Epoch;
        var path = store.Save(c.Model, c.Optimizer, c.Metadata,
            c.Complete ? null : $"epoch-{epoch + 1:D4}-batch-{c.BatchesDone:D6}-step-{c.Metadata.Step:D9}{CheckpointStore.Extension}");
        if (_improved)
            new BestCheckpoint(Path.GetFileName(path), bestMetric, best.Mode, _bestValue, epoch + 1).Write(store.Directory);
        if (settings.Keep > 0)
        {
            var kept = BestCheckpoint.Read(store.Directory)?.PathIn(store.Directory);
            foreach (var old in store.List().SkipLast(settings.Keep))
                if (kept is null || Path.GetFullPath(old) != Path.GetFullPath(kept)) File.Delete(old);
        }
        return path;
    }
}
