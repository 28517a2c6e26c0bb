using System.Diagnostics;
using TrainManager.Components;
using TrainManager.Stages;

namespace TrainManager.Tests.Cluster;

/// <summary>
/// Test-only (<c>{ type = pace, min-batch-ms = 5 }</c> in the in-process clusters' catalog): every batch takes at least
/// that long. A test that acts on a run while it trains (a node joins, another leaves, a coordinator restarts) needs the
/// run to last longer than its actions; on an idle machine a small MLP otherwise finishes 120 epochs in two seconds.
/// </summary>
[Component(Type)]
internal sealed class PaceExtension(double minBatchMs = 5) : Extension
{
    public const string Type = "pace";
    readonly TimeSpan minimumBatch = TimeSpan.FromMilliseconds(minBatchMs);
    readonly Stopwatch _batch = new();

    public void PreBatch() => _batch.Restart();

    public void PostBatch()
    {
        var rest = minimumBatch - _batch.Elapsed;
        if (rest > TimeSpan.Zero) Thread.Sleep(rest);
    }
}
