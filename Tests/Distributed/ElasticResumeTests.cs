using TrainManager.Checkpoints;
using TrainManager.Data;
using TrainManager.Distributed;
using TrainManager.Node.GradientExchange.Ring;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Tests.Training;
using TrainManager.Training;

namespace TrainManager.Tests.Distributed;

/// <summary>A data-parallel run stopped mid-epoch and resumed by a trainer with another world size.</summary>
[Collection(TrainManager.Tests.Torch.GlobalTorchRandomCollection.Name)]
public sealed class ElasticResumeTests
{
    /// <summary>Which examples each batch of each epoch trained on.</summary>
    private sealed class VisitedExamples : Extension
    {
        public readonly List<(int Epoch, int Batch, long[] Examples)> Batches = new();
        private int _epoch;
        // The fixture numbers epochs from 1; this test speaks in the sampler's 0-based indices.
        public void PreEpoch(int epoch) => _epoch = epoch - 1;
        public void PostBatch(int batchIndex, long[] sampleIndices) => Batches.Add((_epoch, batchIndex, sampleIndices));
        public IEnumerable<long> InEpoch(int epoch) => Batches.Where(b => b.Epoch == epoch).SelectMany(b => b.Examples);
    }

    private sealed class StopMidEpoch(int atEpoch, int afterBatch) : Extension
    {
        public void PostBatch(int epoch, int batchIndex, StageControl control)
        {
            if (epoch - 1 == atEpoch && batchIndex == afterBatch) control.StopRoutine("interrupted"); // atEpoch: 0-based
        }
    }

    // 500 examples: 8 batches of 32 per rank for two ranks (the last one short), 16 for one.
    private static Experiment Experiment() =>
        TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 2, trainLimit: 500, optimizer: "sgd") with { BatchSize = 32 };

    /// <summary>Two ranks on a loopback ring, stopped after batch <paramref name="afterBatch"/> of epoch 0; rank 0 checkpoints.</summary>
    private static async Task<(string Checkpoint, VisitedExamples[] Visited)> StopTwoRanksMidEpoch(Experiment experiment, int afterBatch)
    {
        using var ring = await LoopbackRing.FormAsync(2);
        var visited = new[] { new VisitedExamples(), new VisitedExamples() };
        var run = RunDirectory.Create(experiment);
        // Built one after the other: seeding and initialising draw from torch's one global generator.
        var trainers = Enumerable.Range(0, 2).Select(rank => Trainer.FromExperiment(experiment, TestComponents.Catalog, rank == 0 ? run : null,
            [new DataParallelExtension(ring.Ranks[rank]), visited[rank], new StopMidEpoch(0, afterBatch)], rank: rank, worldSize: 2)).ToArray();
        var results = new FitResult[2];
        try
        {
            await Task.WhenAll(LoopbackRing.OnEveryRank(2, rank => results[rank] = trainers[rank].Fit())).WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (var trainer in trainers) trainer.Dispose();
        }
        return (results[0].LastCheckpoint!, visited);
    }

    private static (FitResult Result, VisitedExamples Visited, int BatchesPerEpoch) ResumeOneRank(Experiment experiment, string checkpoint, params Extension[] more)
    {
        var visited = new VisitedExamples();
        using var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, RunDirectory.Create(experiment), [visited, .. more]);
        return (trainer.Fit(checkpoint), visited, trainer.BatchesPerEpoch);
    }

    [Fact]
    public async Task A_single_worker_resuming_a_two_rank_checkpoint_written_mid_epoch_trains_on_the_rest_of_that_epoch()
    {
        var experiment = Experiment();
        var (checkpoint, twoRanks) = await StopTwoRanksMidEpoch(experiment, afterBatch: 2);
        Assert.Equal(new SamplerState(experiment.Seed, 0, 3, WorldSize: 2), new CheckpointStore(Path.GetDirectoryName(checkpoint)!).ReadInfo(checkpoint).Metadata.Sampler);

        var (result, oneRank, batchesPerEpoch) = ResumeOneRank(experiment, checkpoint);

        // Two ranks visited 3 × 32 × 2 = 192 examples; the other 308 make 10 batches, numbered to end the epoch at 16.
        var resumedEpoch = oneRank.Batches.Where(b => b.Epoch == 0).ToList();
        Assert.Equal(16, batchesPerEpoch);
        Assert.Equal(Enumerable.Range(6, 10), resumedEpoch.Select(b => b.Batch));
        var epoch0 = twoRanks.SelectMany(r => r.InEpoch(0)).Concat(oneRank.InEpoch(0)).ToList();
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), epoch0.Order());
        // The next epoch is a whole one.
        Assert.Equal(Enumerable.Range(0, 16), oneRank.Batches.Where(b => b.Epoch == 1).Select(b => b.Batch));
        Assert.Equal(2, result.Epochs);
    }

    [Fact]
    public async Task Stopping_again_inside_the_resumed_partial_epoch_writes_a_checkpoint_that_finishes_it()
    {
        var experiment = Experiment();
        var (checkpoint, twoRanks) = await StopTwoRanksMidEpoch(experiment, afterBatch: 2);

        var (stoppedAgain, firstResume, _) = ResumeOneRank(experiment, checkpoint, new StopMidEpoch(0, afterBatch: 9));
        Assert.Equal(new SamplerState(experiment.Seed, 0, 10, WorldSize: 1, ShardedFrom: 192),
            new CheckpointStore(Path.GetDirectoryName(stoppedAgain.LastCheckpoint!)!).ReadInfo(stoppedAgain.LastCheckpoint!).Metadata.Sampler);
        var (result, secondResume, _) = ResumeOneRank(experiment, stoppedAgain.LastCheckpoint!);

        Assert.Equal(Enumerable.Range(10, 6), secondResume.Batches.Where(b => b.Epoch == 0).Select(b => b.Batch));
        var epoch0 = twoRanks.SelectMany(r => r.InEpoch(0)).Concat(firstResume.InEpoch(0)).Concat(secondResume.InEpoch(0)).ToList();
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), epoch0.Order());
        Assert.Equal(2, result.Epochs);
    }
}
