using TorchSharp.Modules;
using TrainManager.Components;
using TrainManager.Runtime;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainManager.Models;

/// <summary>
/// A multilayer perceptron classifier: flatten, then (linear, ReLU, dropout) per hidden layer, then a linear
/// layer to class logits. Registered as <c>mlp</c>.
/// </summary>
[Component("mlp", Description = "multilayer perceptron")]
public sealed class MlpClassifier : Module<Tensor, Tensor>
{
    readonly Sequential layers;

    public MlpClassifier(
        [Setting("input features (the image is flattened)")] int input = 784,
        [Setting("width of each hidden layer", Default = new[] { 256, 128 })] int[]? hidden = null,
        [Setting("number of output classes")] int classes = 10,
        [Setting("dropout probability after each hidden layer")] double dropout = 0.0) : base("mlp")
    {
        hidden ??= [256, 128];
        Validate(input, hidden, classes, dropout);
        TorchRuntime.EnsureLoaded();
        var modules = new List<(string, Module<Tensor, Tensor>)> { ("flatten", Flatten()) };
        int width = input;
        for (int i = 0; i < hidden.Length; i++)
        {
            modules.Add(($"fc{i + 1}", Linear(width, hidden[i])));
            modules.Add(($"relu{i + 1}", ReLU()));
            if (dropout > 0)
                modules.Add(($"dropout{i + 1}", Dropout(dropout)));
            width = hidden[i];
        }
        modules.Add(("out", Linear(width, classes)));
        layers = Sequential(modules);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => layers.forward(input);

    static void Validate(int input, int[] hidden, int classes, double dropout)
    {
        if (input <= 0)
            throw new ModelConfigurationException($"Model 'mlp': input must be positive, got {input}.");
        if (hidden.Any(h => h <= 0))
            throw new ModelConfigurationException($"Model 'mlp': every hidden width must be positive, got [{string.Join(", ", hidden)}].");
        if (classes < 2)
            throw new ModelConfigurationException($"Model 'mlp': classes must be at least 2, got {classes}.");
        if (dropout is < 0 or >= 1)
            throw new ModelConfigurationException($"Model 'mlp': dropout must be in [0, 1), got {dropout}.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            layers.Dispose();
        base.Dispose(disposing);
    }
}
