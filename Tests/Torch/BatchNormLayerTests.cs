using TrainManager.Models.Layers;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainManager.Tests.Torch;

public sealed class BatchNormLayerTests
{
    [Fact]
    public void Normalises_and_tracks_running_statistics_as_TorchSharps_BatchNorm2d_does_in_training_and_in_evaluation()
    {
        using var ours = new BatchNorm(2, 3);
        using var theirs = BatchNorm2d(3);
        var generator = new Generator(5);
        for (var step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            var input = randn([4, 3, 6, 6], generator: generator).mul_(2.0).add_(1.0);
            AssertClose(theirs.call(input), ours.call(input));
        }
        AssertClose(theirs.running_mean!, ours.running_mean!);
        AssertClose(theirs.running_var!, ours.running_var!);
        Assert.Equal(5, ours.num_batches_tracked!.item<long>());

        ours.eval();
        theirs.eval();
        using var test = randn([2, 3, 6, 6], generator: generator);
        AssertClose(theirs.call(test), ours.call(test));
    }

    [Fact]
    public void Has_the_same_state_dict_names_so_checkpoints_load_into_either()
    {
        using var ours = new BatchNorm(2, 3);
        using var theirs = BatchNorm2d(3);

        Assert.Equal(theirs.state_dict().Keys.Order(), ours.state_dict().Keys.Order());
    }

    [Fact]
    public void Refuses_input_of_the_wrong_rank_naming_the_shape_it_expects()
    {
        using var layer = new BatchNorm(2, 3);
        using var flat = zeros(4, 3);

        var error = Assert.Throws<ArgumentException>(() => layer.call(flat));

        Assert.Contains("BatchNorm2d expects 4D input", error.Message);
    }

    static void AssertClose(Tensor expected, Tensor actual)
    {
        var difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference <= 1e-6, $"differs by {difference:E2}");
    }
}
