using System.Diagnostics;
using System.Security.Cryptography;
using Akka.Actor;
using TrainManager.Protocol;
using TrainManager.Distributed;
using TrainManager.Stages;
using static TorchSharp.torch;

namespace TrainManager.Node.Workers;

/// <summary>Reports the facts the journal keeps, as they happen on the training thread: each epoch's metrics and each
/// checkpoint (path, SHA-256 of the whole file, epoch, step). The worker actor passes them on to the coordinator.
/// The journal keeps epochs as 0-based indices, as checkpoint metadata does (readers add one); the trainer's <c>epoch</c>
/// fixture is the epoch's number, counted from 1.</summary>
public sealed class RunReporter(string runId, IActorRef worker, Func<long> step) : Extension
{
    public override string Name => "cluster-run-reporter";

    public void PostCheckpoint(string checkpointPath, int epoch, IReadOnlyDictionary<string, double> metrics) =>
        worker.Tell(new CheckpointReport(runId, new CheckpointRecord(
            Path.GetFullPath(checkpointPath), CheckpointChecksum.Of(checkpointPath), epoch - 1, step(), new Dictionary<string, double>(metrics))));

    // metrics is optional: an epoch cut short by a stop request ends before it has any.
    public void PostEpoch(int epoch, IReadOnlyDictionary<string, double>? metrics = null)
    {
        if (metrics is not null)
            worker.Tell(new EpochReport(runId, epoch - 1, new Dictionary<string, double>(metrics)));
    }
}

/// <summary>Live progress for followers (<c>--follow</c>), at most once per <paramref name="interval"/>: a batch costs a
/// clock read, and the loss is read from the device only when a report goes out.</summary>
public sealed class ProgressReporter(string runId, IActorRef worker, TimeSpan interval) : Extension
{
    readonly long _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    int _epochs, _batchesPerEpoch, _epoch, _worldSize = 1;
    long _samples, _next;

    public override string Name => "cluster-progress-reporter";

    public void PreFit(int epochs, int batchesPerEpoch, int worldSize)
    {
        _epochs = epochs;
        _batchesPerEpoch = batchesPerEpoch;
        _worldSize = worldSize;
    }

    // Reported as the journal counts: from 0.
    public void PreEpoch(int epoch)
    {
        _epoch = epoch - 1;
        _samples = 0;
        _next = 0;
    }

    public void PostBatch(int batchIndex, long[] sampleIndices, Tensor? loss = null)
    {
        _samples += sampleIndices.Length * _worldSize; // every rank trains a batch of the same size in step
        var now = Stopwatch.GetTimestamp();
        if (loss is null || now < _next)
            return;
        _next = now + _intervalTicks;
        worker.Tell(new ProgressReport(runId, _epoch, _epochs, batchIndex, _batchesPerEpoch, loss.item<float>(), _samples));
    }
}

/// <summary>Stops the fit after the current batch when the worker is asked to (cancel, or the node is leaving); the
/// trainer then writes its last checkpoint. A flag read on the training thread, like the CLI's Ctrl+C handling.
/// In a data-parallel run the ranks agree on the batch through <paramref name="dataParallel"/>'s vote, so a stop
/// asked of one rank stops every rank after the same step.</summary>
public sealed class StopWhenAsked(DataParallelExtension? dataParallel = null) : Extension
{
    volatile string? _reason;

    public override string Name => "cluster-stop";

    public string? Reason => _reason;

    public void RequestStop(string reason)
    {
        _reason ??= reason;
        dataParallel?.RequestStop();
    }

    // Alone, a rank of a data-parallel run must not stop before the first exchange: the others would wait for it.
    public void PreFit(StageControl control)
    {
        if (dataParallel is null)
            StopIfAsked(control);
    }

    public void PostBatch(StageControl control)
    {
        if (dataParallel is { StopAgreed: true })
            _reason ??= "another rank of the run was asked to stop";
        if (dataParallel is null || dataParallel.StopAgreed)
            StopIfAsked(control);
    }

    void StopIfAsked(StageControl control)
    {
        if (_reason is { } reason && !control.StopRequested)
            control.StopRoutine(reason);
    }
}

/// <summary>The checksum the journal records for a checkpoint: SHA-256 over the whole file, lowercase hex.</summary>
public static class CheckpointChecksum
{
    public static string Of(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }
}
