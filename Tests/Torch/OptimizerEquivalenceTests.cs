using TorchSharp.Modules;
using TrainManager.Training;
using Ours = TrainManager.Training.Optimizers;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainManager.Tests.Torch;

/// <summary>The project's optimizers keep every Scalar alive through the native call; they must still compute exactly
/// what TorchSharp's compute, and read and write the same state.</summary>
public sealed class OptimizerEquivalenceTests
{
    public static TheoryData<string> Settings => new()
    {
        "sgd", "sgd momentum", "sgd momentum nesterov", "sgd momentum dampening decay",
        "adam", "adam decay", "adam amsgrad", "adamw", "adamw decay amsgrad",
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Give_the_same_parameters_as_TorchSharps_own_within_1e_6_over_100_steps(string setting)
    {
        using var ours = NewModel();
        using var theirs = NewModel();
        using var ourOptimizer = Create(setting, ours.parameters(), ourImplementation: true);
        using var theirOptimizer = Create(setting, theirs.parameters(), ourImplementation: false);
        Assert.StartsWith("TrainManager", ourOptimizer.GetType().FullName);
        Assert.StartsWith("TorchSharp", theirOptimizer.GetType().FullName);

        var generator = new TorchSharp.torch.Generator(7);
        for (var step = 0; step < 100; step++)
        {
            using var scope = NewDisposeScope();
            var inputs = randn([16, 8], generator: generator);
            var targets = randint(0, 3, [16], generator: generator);
            Step(ours, ourOptimizer, inputs, targets);
            Step(theirs, theirOptimizer, inputs, targets);
        }

        var largest = ours.parameters().Zip(theirs.parameters(), (a, b) => (a - b).abs().max().item<float>()).Max();
        Assert.True(largest <= 1e-6, $"{setting}: the parameters differ by up to {largest:E2} after 100 steps");
        var moved = ours.parameters().Zip(NewModel().parameters(), (a, b) => (a - b).abs().max().item<float>()).Max();
        Assert.True(moved > 1e-3, $"{setting}: the parameters barely moved ({moved:E2}), so the comparison says nothing");
    }

    [Theory]
    [InlineData("sgd momentum")]
    [InlineData("adam amsgrad")]
    [InlineData("adamw")]
    public void Read_the_state_TorchSharps_optimizer_wrote_so_earlier_checkpoints_resume(string setting)
    {
        using var theirs = NewModel();
        using var theirOptimizer = Create(setting, theirs.parameters(), ourImplementation: false);
        using (var scope = NewDisposeScope())
            Step(theirs, theirOptimizer, randn(16, 8), randint(0, 3, [16]));
        using var saved = new MemoryStream();
        using (var writer = new BinaryWriter(saved, System.Text.Encoding.UTF8, leaveOpen: true))
            ((OptimizerHelper)theirOptimizer).save_state_dict(writer);

        using var ours = NewModel();
        using var ourOptimizer = (OptimizerHelper)Create(setting, ours.parameters(), ourImplementation: true);
        saved.Position = 0;
        using (var reader = new BinaryReader(saved))
            ourOptimizer.load_state_dict(reader);

        using var again = new MemoryStream();
        using (var writer = new BinaryWriter(again, System.Text.Encoding.UTF8, leaveOpen: true))
            ourOptimizer.save_state_dict(writer);
        Assert.Equal(saved.ToArray(), again.ToArray());
    }

    static Sequential NewModel()
    {
        manual_seed(3);
        return Sequential(("hidden", Linear(8, 12)), ("relu", ReLU()), ("out", Linear(12, 3)));
    }

    static void Step(Sequential model, optim.Optimizer optimizer, Tensor inputs, Tensor targets)
    {
        optimizer.zero_grad();
        functional.cross_entropy(model.call(inputs), targets).backward();
        optimizer.step();
    }

    static optim.Optimizer Create(string setting, IEnumerable<Parameter> parameters, bool ourImplementation)
    {
        var words = setting.Split(' ');
        bool Has(string word) => words.Contains(word);
        var decay = Has("decay") ? 0.01 : 0;
        var amsgrad = Has("amsgrad");
        return (words[0], ourImplementation) switch
        {
            ("sgd", true) => new Ours.SGD(parameters, 0.05, Has("momentum") ? 0.9 : 0, Has("dampening") ? 0.1 : 0, decay, Has("nesterov")),
            ("sgd", false) => new SGD(parameters, 0.05, Has("momentum") ? 0.9 : 0, Has("dampening") ? 0.1 : 0, decay, Has("nesterov")),
            ("adam", true) => new Ours.Adam(parameters, 0.01, 0.9, 0.999, OptimizerFactory.AdamEpsilon, decay, amsgrad),
            ("adam", false) => new Adam(parameters, 0.01, 0.9, 0.999, OptimizerFactory.AdamEpsilon, decay, amsgrad),
            ("adamw", true) => new Ours.AdamW(parameters, 0.01, 0.9, 0.999, OptimizerFactory.AdamEpsilon, decay, amsgrad),
            ("adamw", false) => new AdamW(parameters, 0.01, 0.9, 0.999, OptimizerFactory.AdamEpsilon, decay, amsgrad),
            _ => throw new ArgumentException(setting),
        };
    }
}
