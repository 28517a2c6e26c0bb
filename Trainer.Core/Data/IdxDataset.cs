using TorchSharp;
using TrainManager.Runtime;
using static TorchSharp.torch;

namespace TrainManager.Data;

/// <summary>
/// An MNIST-family image classification set read from a pair of IDX files (plain or .gz): images become float32
/// [N, 1, H, W] scaled to [0, 1] and then normalised with the given mean and standard deviation; labels int64 [N].
/// Everything is preloaded, so batches are a single index_select.
/// </summary>
public sealed class IdxDataset : TensorDataset
{
    IdxDataset(Tensor images, Tensor labels, string imagesPath, string labelsPath) : base(images, labels)
    {
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
    }

    public string ImagesPath { get; }
    public string LabelsPath { get; }

    /// <summary>Image height × width, e.g. (28, 28).</summary>
    public (long Height, long Width) ImageSize => (Inputs.shape[2], Inputs.shape[3]);

    public static IdxDataset Load(string imagesPath, string labelsPath, double mean, double std)
    {
        if (std <= 0)
            throw new ArgumentOutOfRangeException(nameof(std), std, "The normalisation standard deviation must be positive.");
        TorchRuntime.EnsureLoaded();
        var images = ReadFile(imagesPath);
        var labels = ReadFile(labelsPath);
        if (images.Dimensions.Length != 3)
            throw new DatasetInvalidException($"{imagesPath} has shape [{string.Join(", ", images.Dimensions)}]; an image file must be [N, height, width].");
        if (labels.Dimensions.Length != 1)
            throw new DatasetInvalidException($"{labelsPath} has shape [{string.Join(", ", labels.Dimensions)}]; a label file must be [N].");
        if (images.Dimensions[0] != labels.Dimensions[0])
            throw new DatasetInvalidException($"{imagesPath} holds {images.Dimensions[0]} images but {labelsPath} holds {labels.Dimensions[0]} labels; they must come from the same split.");

        long n = images.Dimensions[0], height = images.Dimensions[1], width = images.Dimensions[2];
        using var scope = NewDisposeScope();
        var pixels = tensor(images.Data, ScalarType.Byte).reshape(n, 1, height, width);
        // One fused pass: (x / 255 - mean) / std  ==  x * (1 / (255 std)) - mean / std.
        using var scale = (1.0 / (255.0 * std)).ToScalar();
        using var shift = (mean / std).ToScalar();
        var normalised = pixels.to_type(ScalarType.Float32).mul_(scale).sub_(shift);
        var targets = tensor(labels.Data, ScalarType.Byte).to_type(ScalarType.Int64);
        normalised.MoveToOuterDisposeScope();
        targets.MoveToOuterDisposeScope();
        return new IdxDataset(normalised, targets, imagesPath, labelsPath);
    }

    /// <summary>An IDX file, or the error a person can act on: which file, what is wrong with it.</summary>
    static IdxArray ReadFile(string path)
    {
        try
        {
            return IdxFile.Read(path);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new DatasetInvalidException(e.Message.Contains(path, StringComparison.Ordinal) ? e.Message : $"{path}: {e.Message}", e);
        }
    }
}
