using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TrainManager.Tests.Extensions.Leakage;

/// <summary>Small models with the batch-mixing bugs people actually write, and correct ones to compare against.</summary>
internal static class PlantedModels
{
    public const int Features = 6;
    public const int Classes = 3;

    public static Sequential Mlp() => nn.Sequential(
        ("fc1", nn.Linear(Features, 16)),
        ("act", nn.ReLU()),
        ("fc2", nn.Linear(16, Classes)));

    public static Sequential MlpWithDropout() => nn.Sequential(
        ("fc1", nn.Linear(Features, 16)),
        ("act", nn.ReLU()),
        ("drop", nn.Dropout(0.5)),
        ("fc2", nn.Linear(16, Classes)));

    /// <summary>Expects [N, 3, 8, 8].</summary>
    public static Sequential CnnWithBatchNorm() => nn.Sequential(
        ("conv", nn.Conv2d(3, 4, 3, padding: 1)),
        ("bn", nn.BatchNorm2d(4)),
        ("act", nn.ReLU()),
        ("pool", nn.AdaptiveAvgPool2d(1)),
        ("flat", nn.Flatten()),
        ("head", nn.Linear(4, Classes)));

    /// <summary>A Sequential with <paramref name="bug"/> planted between two correct layers under the name <paramref name="bugName"/>.</summary>
    public static Sequential WithBug(string bugName, nn.Module<Tensor, Tensor> bug) => nn.Sequential(
        ("fc1", nn.Linear(Features, Features)),
        ("act", nn.ReLU()),
        (bugName, bug),
        ("head", nn.Linear(Features, Classes)));
}

/// <summary>x.view(-1, 2F): pairs of samples become one row, a linear layer mixes them, then the view is undone.</summary>
internal sealed class FoldBatchIntoFeatures : nn.Module<Tensor, Tensor>
{
    private readonly Linear mix = nn.Linear(2 * PlantedModels.Features, 2 * PlantedModels.Features);

    public FoldBatchIntoFeatures() : base(nameof(FoldBatchIntoFeatures)) => RegisterComponents();

    public override Tensor forward(Tensor x) =>
        mix.call(x.view(-1, 2 * PlantedModels.Features)).view(-1, PlantedModels.Features);
}

/// <summary>x.t().reshape(N, F) instead of a reshape that keeps samples: rows are rebuilt from values of many samples.</summary>
internal sealed class TransposeThenReshape : nn.Module<Tensor, Tensor>
{
    public TransposeThenReshape() : base(nameof(TransposeThenReshape)) { }

    public override Tensor forward(Tensor x) => x.t().reshape(x.shape[0], x.shape[1]);
}

/// <summary>Concatenates the batch with itself rolled by one along the batch dimension, then sums the halves back.</summary>
internal sealed class ConcatRolledBatch : nn.Module<Tensor, Tensor>
{
    private readonly Linear project = nn.Linear(PlantedModels.Features, PlantedModels.Features);

    public ConcatRolledBatch() : base(nameof(ConcatRolledBatch)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        var n = x.shape[0];
        var projected = project.call(cat([x, x.roll(1, 0)], 0));
        return projected[..(int)n] + projected[(int)n..];
    }
}

/// <summary>Mixes samples in its own forward code, between two correctly-batched child calls.</summary>
internal sealed class MixesBetweenChildren : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1 = nn.Linear(PlantedModels.Features, PlantedModels.Features);
    private readonly Linear fc2 = nn.Linear(PlantedModels.Features, PlantedModels.Classes);

    public MixesBetweenChildren() : base(nameof(MixesBetweenChildren)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        var hidden = fc1.call(x);
        return fc2.call(hidden - hidden.mean([0], keepdim: true));
    }
}

/// <summary>
/// Output values equal the input, but the gradient reaches the neighbouring sample:
/// x + (roll(x) − roll(x).detach()) is x in value and not in autograd.
/// </summary>
internal sealed class GradientOnlyCoupling : nn.Module<Tensor, Tensor>
{
    public GradientOnlyCoupling() : base(nameof(GradientOnlyCoupling)) { }

    public override Tensor forward(Tensor x)
    {
        var rolled = x.roll(1, 0);
        return x + (rolled - rolled.detach());
    }
}

/// <summary>Subtracts the batch mean from every sample: each output depends on the whole batch.</summary>
internal sealed class SubtractBatchMean : nn.Module<Tensor, Tensor>
{
    public SubtractBatchMean() : base(nameof(SubtractBatchMean)) { }

    public override Tensor forward(Tensor x) => x - x.mean([0], keepdim: true);
}

/// <summary>Calls its children with <c>.forward(...)</c>, the other common TorchSharp style; the middle one mixes samples.</summary>
internal sealed class ForwardStyleWithMixingChild : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> fc1 = nn.Linear(PlantedModels.Features, PlantedModels.Features);
    private readonly nn.Module<Tensor, Tensor> centre = new SubtractBatchMean();
    private readonly nn.Module<Tensor, Tensor> head = nn.Linear(PlantedModels.Features, PlantedModels.Classes);

    public ForwardStyleWithMixingChild() : base(nameof(ForwardStyleWithMixingChild)) => RegisterComponents();

    /// <summary>What the field holds now, so a test can see that a check put it back.</summary>
    public nn.Module<Tensor, Tensor> Centre => centre;

    public override Tensor forward(Tensor x) => head.forward(centre.forward(fc1.forward(x)));
}

/// <summary>As <see cref="ForwardStyleWithMixingChild"/>, but the mixing child sits in a field of its concrete type.</summary>
internal sealed class ForwardStyleWithConcreteField : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1 = nn.Linear(PlantedModels.Features, PlantedModels.Features);
    private readonly SubtractBatchMean centre = new();
    private readonly Linear head = nn.Linear(PlantedModels.Features, PlantedModels.Classes);

    public ForwardStyleWithConcreteField() : base(nameof(ForwardStyleWithConcreteField)) => RegisterComponents();

    public override Tensor forward(Tensor x) => head.forward(centre.forward(fc1.forward(x)));
}
