using TorchSharp.Modules;
using TrainManager.Components;
using TrainManager.Runtime;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainManager.Models;

/// <summary>
/// A small image classifier, registered as <c>cnn</c>: per entry of <c>channels</c> a 3×3 convolution (padding 1),
/// optional batch norm, ReLU and 2×2 max-pool; then dropout, a hidden fully connected layer with ReLU, dropout,
/// and the class logits. With the defaults (channels [32, 64], hidden 128) it reaches about 91–92% test accuracy on
/// Fashion-MNIST in a few epochs and costs ~4 MFLOP per image forward, light enough for two CPU cores.
/// </summary>
[Component("cnn", Description = "convolutional image classifier")]
public sealed class ConvNetClassifier : Module<Tensor, Tensor>
{
    readonly Sequential features;
    readonly Sequential head;

    public ConvNetClassifier(
        [Setting("channels of the input image")] int inChannels = 1,
        [Setting("height and width of the (square) input image")] int imageSize = 28,
        [Setting("output channels of each conv block; each block halves the image", Default = new[] { 32, 64 })] int[]? channels = null,
        [Setting("width of the fully connected hidden layer")] int hidden = 128,
        [Setting("number of output classes")] int classes = 10,
        [Setting("dropout probability before each fully connected layer")] double dropout = 0.25,
        [Setting("batch normalisation after each convolution")] bool batchNorm = true) : base("cnn")
    {
        channels ??= [32, 64];
        Validate(inChannels, imageSize, channels, hidden, classes, dropout);
        TorchRuntime.EnsureLoaded();

        var blocks = new List<(string, Module<Tensor, Tensor>)>();
        int previous = inChannels, size = imageSize;
        for (int i = 0; i < channels.Length; i++)
        {
            // No conv bias when batch norm follows: its shift makes the bias redundant.
            blocks.Add(($"conv{i + 1}", Conv2d(previous, channels[i], 3, padding: 1, bias: !batchNorm)));
            if (batchNorm)
                blocks.Add(($"bn{i + 1}", new Layers.BatchNorm(2, channels[i])));
            blocks.Add(($"relu{i + 1}", ReLU()));
            blocks.Add(($"pool{i + 1}", MaxPool2d(2)));
            previous = channels[i];
            size /= 2;
        }
        features = Sequential(blocks);

        var headModules = new List<(string, Module<Tensor, Tensor>)> { ("flatten", Flatten()) };
        if (dropout > 0)
            headModules.Add(("dropout1", Dropout(dropout)));
        headModules.Add(("fc1", Linear((long)previous * size * size, hidden)));
        headModules.Add(("relu", ReLU()));
        if (dropout > 0)
            headModules.Add(("dropout2", Dropout(dropout)));
        headModules.Add(("out", Linear(hidden, classes)));
        head = Sequential(headModules);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var extracted = features.forward(input);
        return head.forward(extracted);
    }

    static void Validate(int inChannels, int imageSize, int[] channels, int hidden, int classes, double dropout)
    {
        if (inChannels <= 0 || hidden <= 0)
            throw new ModelConfigurationException($"Model 'cnn': in_channels and hidden must be positive, got {inChannels} and {hidden}.");
        if (channels.Length == 0 || channels.Any(c => c <= 0))
            throw new ModelConfigurationException($"Model 'cnn': channels must list at least one positive width, got [{string.Join(", ", channels)}].");
        if (imageSize >> channels.Length < 1)
            throw new ModelConfigurationException(
                $"Model 'cnn': {channels.Length} pooling blocks shrink a {imageSize}px image to nothing; use fewer channels entries or a larger image_size.");
        if (classes < 2)
            throw new ModelConfigurationException($"Model 'cnn': classes must be at least 2, got {classes}.");
        if (dropout is < 0 or >= 1)
            throw new ModelConfigurationException($"Model 'cnn': dropout must be in [0, 1), got {dropout}.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            features.Dispose();
            head.Dispose();
        }
        base.Dispose(disposing);
    }
}
