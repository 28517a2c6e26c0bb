using TrainManager.Distributed;
using TrainManager.Node.GradientExchange.InProcess;
using TrainManager.Node.GradientExchange.Ring;
using TrainManager.Experiments;
using TrainManager.Stages;
using TrainManager.Tests.Training;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Distributed;

/// <summary>Data-parallel training in one process: ranks on threads, gradients averaged over a loopback ring or an
/// in-process exchange.</summary>
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

    /// <summary>Trains <paramref name="experiment"/> on two ranks over <paramref name="transport"/>, in one process.</summary>
    private static async Task<(BatchLosses[] Losses, ParameterDigests[] Digests)> TrainOnTwoRanks(string transport, Experiment experiment)
    {
        using var transports = await LocalTransports.FormAsync(transport, 2, experiment.DataParallel.BucketBytes);
        var losses = new[] { new BatchLosses(), new BatchLosses() };
        var digests = new[] { new ParameterDigests(), new ParameterDigests() };
        // Built one after the other: seeding and initialising draw from torch's one global generator.
        var trainers = Enumerable.Range(0, 2).Select(rank => Trainer.FromExperiment(experiment, TestComponents.Catalog, null,
            [new DataParallelExtension(transports.Ranks[rank]), losses[rank], digests[rank]], rank: rank, worldSize: 2)).ToArray();
        try
        {
            await Task.WhenAll(LoopbackRing.OnEveryRank(2, rank => trainers[rank].Fit())).WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (var trainer in trainers) trainer.Dispose();
        }
        return (losses, digests);
    }

    [Theory]
    [MemberData(nameof(LocalTransports.Names), MemberType = typeof(LocalTransports))]
    public async Task Two_workers_with_half_batches_follow_the_loss_sequence_of_one_worker_with_the_whole_batch(string transport)
    {
        var single = new BatchLosses();
        using (var trainer = Trainer.FromExperiment(Deterministic(64), TestComponents.Catalog, null, [single]))
            trainer.Fit();

        var (losses, digests) = await TrainOnTwoRanks(transport, Deterministic(32));

        // Each rank's loss is the mean over its half; the whole batch's loss is the mean of the two halves.
        var combined = losses[0].Losses.Zip(losses[1].Losses, (a, b) => (a + b) / 2).ToList();
        Assert.Equal(16, single.Losses.Count); // 512 samples, batches of 64, two epochs
        Assert.Equal(single.Losses.Count, combined.Count);
        for (var i = 0; i < combined.Count; i++)
            Assert.True(Math.Abs(single.Losses[i] - combined[i]) < 1e-4, $"batch {i}: one worker {single.Losses[i]}, two workers {combined[i]}");
        // After every step both replicas hold the same parameters.
        Assert.Equal(digests[0].Digests, digests[1].Digests);
    }

    [Fact]
    public async Task Two_workers_in_one_process_train_the_same_over_the_in_process_exchange_as_over_the_ring()
    {
        var experiment = Deterministic(32);
        var ring = await TrainOnTwoRanks(RingAllReduce.TransportName, experiment);
        var inProcess = await TrainOnTwoRanks(InProcessExchange.TransportName, experiment);

        // The exchange sums in the ring's order, so the runs agree to the bit, not merely within a tolerance.
        Assert.Equal(16, ring.Losses[0].Losses.Count);
        for (var rank = 0; rank < 2; rank++)
        {
            Assert.Equal(ring.Losses[rank].Losses, inProcess.Losses[rank].Losses);
            Assert.Equal(ring.Digests[rank].Digests, inProcess.Digests[rank].Digests);
        }
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
