using TrainManager.Distributed;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Tests.Training;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Distributed;

/// <summary>Data-parallel training in one process: ranks on threads, gradients averaged over a loopback ring.</summary>
[Collection(TrainManager.Tests.Torch.GlobalTorchRandomCollection.Name)]
public sealed class DataParallelTrainingTests
{
    private sealed class BatchLosses : Extension
    {
        public readonly List<float> Losses = new();
        public void PostBatch(Tensor loss) => Losses.Add(loss.item<float>());
    }

    /// <summary>A digest of every parameter, to compare replicas after each step.</summary>
    private sealed class ParameterDigests : Extension
    {
        public readonly List<double> Digests = new();
        public void PostStep(nn.Module model)
        {
            using var noGrad = no_grad();
            double digest = 0;
            var i = 1;
            foreach (var p in model.parameters()) digest += (p * i++).sum().item<float>();
            Digests.Add(digest);
        }
    }

    private static Experiment Deterministic(int batchSize) =>
        TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 2, trainLimit: 512, optimizer: "sgd") with
        {
            BatchSize = batchSize,
            Model = new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 32 }, ["dropout"] = 0.0 }),
        };

    [Fact]
    public async Task Two_workers_with_half_batches_follow_the_loss_sequence_of_one_worker_with_the_whole_batch()
    {
        var single = new BatchLosses();
        using (var trainer = Trainer.FromExperiment(Deterministic(64), TestComponents.Catalog, null, [single]))
            trainer.Fit();

        using var ring = await LoopbackRing.FormAsync(2);
        var losses = new[] { new BatchLosses(), new BatchLosses() };
        var digests = new[] { new ParameterDigests(), new ParameterDigests() };
        var experiment = Deterministic(32);
        // Built one after the other: seeding and initialising draw from torch's one global generator.
        var trainers = Enumerable.Range(0, 2).Select(rank => Trainer.FromExperiment(experiment, TestComponents.Catalog, null,
            [new DataParallelExtension(ring.Ranks[rank]), losses[rank], digests[rank]], rank: rank, worldSize: 2)).ToArray();
        try
        {
            await Task.WhenAll(LoopbackRing.OnEveryRank(2, rank => trainers[rank].Fit())).WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (var trainer in trainers) trainer.Dispose();
        }

        // Each rank's loss is the mean over its half; the whole batch's loss is the mean of the two halves.
        var combined = losses[0].Losses.Zip(losses[1].Losses, (a, b) => (a + b) / 2).ToList();
        Assert.Equal(16, single.Losses.Count); // 512 samples, batches of 64, two epochs
        Assert.Equal(single.Losses.Count, combined.Count);
        for (var i = 0; i < combined.Count; i++)
            Assert.True(Math.Abs(single.Losses[i] - combined[i]) < 1e-4, $"batch {i}: one worker {single.Losses[i]}, two workers {combined[i]}");
        // After every step both replicas hold the same parameters.
        Assert.Equal(digests[0].Digests, digests[1].Digests);
    }

    /// <summary>Replaces one gradient with a copy of itself after every backward pass, as careless user code might.</summary>
    private sealed class ReplacesAGradient : Extension
    {
        public void PostBackward(nn.Module model)
        {
            var first = model.parameters().First();
            using var grad = first.grad!;
            first.grad = grad.clone();
        }
    }

    [Fact]
    public async Task Gradients_are_reduced_where_autograd_left_them_and_a_replaced_one_is_bound_again_before_the_exchange()
    {
        var single = new BatchLosses();
        using (var trainer = Trainer.FromExperiment(Deterministic(64), TestComponents.Catalog, null, [single]))
            trainer.Fit();

        foreach (var replace in new[] { false, true })
        {
            using var ring = await LoopbackRing.FormAsync(2);
            var losses = new[] { new BatchLosses(), new BatchLosses() };
            var digests = new[] { new ParameterDigests(), new ParameterDigests() };
            var dataParallel = new[] { new DataParallelExtension(ring.Ranks[0]), new DataParallelExtension(ring.Ranks[1]) };
            var trainers = Enumerable.Range(0, 2).Select(rank => Trainer.FromExperiment(Deterministic(32), TestComponents.Catalog, null,
                replace
                    ? [dataParallel[rank], losses[rank], digests[rank], new ReplacesAGradient()]
                    : [dataParallel[rank], losses[rank], digests[rank]],
                rank: rank, worldSize: 2)).ToArray();
            try
            {
                await Task.WhenAll(LoopbackRing.OnEveryRank(2, rank => trainers[rank].Fit())).WaitAsync(TimeSpan.FromMinutes(2));
            }
            finally
            {
                foreach (var trainer in trainers) trainer.Dispose();
            }

            // Kept in place by autograd and the optimizer: never bound again. Replaced every step: bound again every step.
            Assert.All(dataParallel, d => Assert.Equal(replace ? 16 : 0, d.Rebinds));
            var combined = losses[0].Losses.Zip(losses[1].Losses, (a, b) => (a + b) / 2).ToList();
            for (var i = 0; i < combined.Count; i++)
                Assert.True(Math.Abs(single.Losses[i] - combined[i]) < 1e-4, $"replace={replace}, batch {i}: one worker {single.Losses[i]}, two workers {combined[i]}");
            Assert.Equal(digests[0].Digests, digests[1].Digests);
        }
    }

    private sealed class WritesFiles : Extension
    {
        public int Calls;
        public override RankScope Ranks => RankScope.RankZero;
        public void PostEpoch() => Calls++;
    }

    [Fact]
    public void Extensions_that_write_files_are_registered_on_rank_zero_only()
    {
        var experiment = Deterministic(32) with { Epochs = 1 };
        var onRankOne = new WritesFiles();
        using var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, null, [onRankOne], rank: 1, worldSize: 2);
        trainer.Fit();
        Assert.Equal(0, onRankOne.Calls);
        Assert.DoesNotContain(onRankOne, trainer.Extensions);
    }
}
