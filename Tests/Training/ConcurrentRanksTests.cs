using TrainManager.Training;

namespace TrainManager.Tests.Training;

/// <summary>Ranks of one run built at once in one process (the embedded cluster's <c>workers = N</c>) draw their initial
/// weights from torch's one default generator: each must get what its seed alone gives, whatever the threads do.</summary>
[Collection(TrainManager.Tests.Torch.GlobalTorchRandomCollection.Name)]
public sealed class ConcurrentRanksTests
{
    [Fact]
    public async Task Trainers_built_at_once_on_several_threads_start_from_the_weights_their_seed_gives()
    {
        var experiment = TrainingFixtures.Mlp(TrainingFixtures.TempDir(), epochs: 1, trainLimit: 64);
        float[] expected;
        using (var alone = Trainer.FromExperiment(experiment, TestComponents.Catalog, null, []))
            expected = Weights(alone);

        const int Ranks = 4;
        for (var round = 0; round < 5; round++)
        {
            using var start = new Barrier(Ranks);
            var built = Enumerable.Range(0, Ranks).Select(_ => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                using var trainer = Trainer.FromExperiment(experiment, TestComponents.Catalog, null, []);
                return Weights(trainer);
            }, TaskCreationOptions.LongRunning)).ToArray();
            foreach (var weights in await Task.WhenAll(built))
                Assert.Equal(expected, weights);
        }
    }

    static float[] Weights(Trainer trainer) =>
        trainer.Model.Module.parameters().SelectMany(p =>
        {
            using var cpu = p.detach().cpu();
            return cpu.data<float>().ToArray();
        }).ToArray();
}
