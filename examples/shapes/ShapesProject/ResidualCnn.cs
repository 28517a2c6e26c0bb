using TorchSharp;
using TorchSharp.Modules;
using TrainManager.Components;
using TrainManager.Models.Layers;
using static TorchSharp.torch;
// TorchSharp.Modules has a BatchNorm too; this one is the framework's.
using BatchNorm = TrainManager.Models.Layers.BatchNorm;

namespace Shapes;

/// <summary>
/// A small residual CNN for square greyscale images that arrive flat (a CSV row of pixels): it reshapes them to
/// [1, size, size], applies a stem convolution, <c>blocks</c> residual blocks (two 3×3 convolutions with batch norm and
/// a skip connection), global average pooling and a linear classifier.
/// <c>model { type = residual-cnn, args { image_size = 8, width = 16, blocks = 2, classes = 4 } }</c>.
/// </summary>
[Component("residual-cnn", Description = "a small residual CNN over flat square images")]
public sealed class ResidualCnn : nn.Module<Tensor, Tensor>
{
    private readonly long imageSize;
    private readonly Sequential stem;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> residual = new();
    private readonly Linear head;

    public ResidualCnn(
        [Setting("height and width of the image (the input holds image_size² pixels)")] int imageSize = 8,
        [Setting("channels of every residual block")] int width = 16,
        [Setting("number of residual blocks")] int blocks = 2,
        [Setting("number of classes")] int classes = 4) : base("residual-cnn")
    {
        if (imageSize < 1 || width < 1 || blocks < 0 || classes < 2)
            throw new ArgumentException($"image_size and width must be positive, blocks at least 0 and classes at least 2; got {imageSize}, {width}, {blocks}, {classes}.");
        this.imageSize = imageSize;
        // Batch norm is the framework's: TorchSharp's own makes a Scalar nothing keeps alive (see the README's "Native objects").
        stem = nn.Sequential(nn.Conv2d(1, width, 3, padding: 1, bias: false), new BatchNorm(2, width), nn.ReLU());
        for (var i = 0; i < blocks; i++) residual.Add(new ResidualBlock(width));
        head = nn.Linear(width, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = stem.call(input.reshape(-1, 1, imageSize, imageSize));
        foreach (var block in residual) x = block.call(x);
        return head.call(x.mean([2L, 3L])).MoveToOuterDisposeScope();
    }

    private sealed class ResidualBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential body;

        public ResidualBlock(int width) : base("residual")
        {
            body = nn.Sequential(
                nn.Conv2d(width, width, 3, padding: 1, bias: false), new BatchNorm(2, width), nn.ReLU(),
                nn.Conv2d(width, width, 3, padding: 1, bias: false), new BatchNorm(2, width));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            // An explicit Scalar, alive until the call returns: add_(t) alone makes a temporary one.
            using var one = 1L.ToScalar();
            return nn.functional.relu(body.call(input).add_(input, one));
        }
    }
}
