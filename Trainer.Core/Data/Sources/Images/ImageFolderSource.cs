using System.Text.Json;
using SkiaSharp;
using TrainManager.Components;
using static TorchSharp.torch;

namespace TrainManager.Data.Sources.Images;

/// <summary>How an image becomes a tensor: decoded, resized to <see cref="Height"/> × <see cref="Width"/>, as grey or RGB
/// channels scaled to [0, 1], then normalised per channel.</summary>
public sealed record ImageTransform(int Height, int Width, bool Grey, float[] Mean, float[] Std)
{
    public int Channels => Grey ? 1 : 3;
    public int Values => Channels * Height * Width;

    static readonly SKSamplingOptions Sampling = new(SKCubicResampler.Mitchell);

    /// <summary>Decodes <paramref name="file"/> into <paramref name="into"/> ([C, H, W], channel-major).</summary>
    /// <exception cref="DatasetInvalidException">The file is not a PNG or JPEG that can be decoded.</exception>
    public void Read(string file, Span<float> into)
    {
        using var codec = SKCodec.Create(file);
        if (codec is null)
            throw new DatasetInvalidException($"{file} cannot be read as an image (corrupt, or not PNG or JPEG); remove or replace it.");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var decoded = new SKBitmap(info);
        var result = codec.GetPixels(info, decoded.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            throw new DatasetInvalidException($"{file} cannot be decoded ({result}); the image is corrupt. Remove or replace it.");
        if (result == SKCodecResult.IncompleteInput)
            throw new DatasetInvalidException($"{file} is cut off (its image data ends early); the image is corrupt. Remove or replace it.");
        using var resized = info.Width == Width && info.Height == Height ? null : decoded.Resize(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Unpremul), Sampling);
        var pixels = (resized ?? decoded).GetPixelSpan();
        var plane = Height * Width;
        for (var p = 0; p < plane; p++)
        {
            float r = pixels[4 * p], g = pixels[4 * p + 1], b = pixels[4 * p + 2];
            if (Grey)
                into[p] = ((0.299f * r + 0.587f * g + 0.114f * b) / 255f - Mean[0]) / Std[0];
            else
            {
                into[p] = (r / 255f - Mean[0]) / Std[0];
                into[plane + p] = (g / 255f - Mean[1]) / Std[1];
                into[2 * plane + p] = (b / 255f - Mean[2]) / Std[2];
            }
        }
    }
}

/// <summary>Images listed by file, decoded when a batch asks for them (the images may be larger than memory).</summary>
public sealed class ImageFolderDataset(IReadOnlyList<(string File, long Label)> images, ImageTransform transform) : IDataset
{
    public long Count => images.Count;

    public IReadOnlyList<(string File, long Label)> Images => images;

    public Sample Get(long index) => Sample.FromBatchOf(this, index);

    public Batch GetBatch(long[] indices)
    {
        Batch.RequireIndices(indices);
        var values = new float[indices.Length * (long)transform.Values];
        var labels = new long[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            var index = indices[i];
            if (index < 0 || index >= Count)
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"The data set has {Count} examples (indices 0..{Count - 1}).");
            var (file, label) = images[(int)index];
            transform.Read(file, values.AsSpan(i * transform.Values, transform.Values));
            labels[i] = label;
        }
        var input = tensor(values, [indices.Length, transform.Channels, transform.Height, transform.Width]);
        try
        {
            return new Batch(input, tensor(labels, [indices.Length]));
        }
        catch
        {
            input.Dispose();
            throw;
        }
    }
}

/// <summary>
/// Images in one folder per class (<c>path/cat/001.png</c>, <c>path/dog/…</c>); PNG and JPEG, decoded per batch with
/// SkiaSharp, resized to <c>size</c>, as <c>grey</c> or <c>rgb</c> channels scaled to [0, 1] and normalised with
/// <c>mean</c> and <c>std</c> (one value, or one per channel). Classes are the folder names in sorted order (recorded in
/// the run as labels.json). The test images are in <c>test-path</c> (same class folders), or a <c>test-fraction</c> of
/// <c>path</c>'s; when neither is set and <c>path</c> has <c>train</c> and <c>test</c> folders, those are used.
/// </summary>
[Component("image-folder", Description = "PNG/JPEG images in one folder per class, decoded lazily, resized and normalised")]
public sealed class ImageFolderSource(
    DataContext context, string path, string? testPath = null, double testFraction = 0, int[]? size = null,
    string channels = "rgb", double[]? mean = null, double[]? std = null) : IDataSource
{
    static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    public DataSplits Open()
    {
        var transform = Transform();
        var root = context.Resolve(path);
        if (!Directory.Exists(root))
            throw new DatasetNotFoundException($"data.path is '{path}', but there is no folder {root}. It should hold one folder of images per class.");
        string trainRoot = root, testRoot;
        if (testPath is not null)
        {
            if (testFraction > 0) throw new DatasetInvalidException("data.test-path and data.test-fraction are both set; use one.");
            testRoot = context.Resolve(testPath);
            if (!Directory.Exists(testRoot))
                throw new DatasetNotFoundException($"data.test-path is '{testPath}', but there is no folder {testRoot}.");
        }
        else if (testFraction > 0)
            testRoot = "";
        else if (Directory.Exists(Path.Combine(root, "train")) && Directory.Exists(Path.Combine(root, "test")))
            (trainRoot, testRoot) = (Path.Combine(root, "train"), Path.Combine(root, "test"));
        else
            throw new DatasetInvalidException(
                $"The image-folder source needs test images: set data.test-path to a folder with the same class folders, data.test-fraction (e.g. 0.2), or put train/ and test/ folders in {root}.");

        var classes = ClassFolders(trainRoot);
        var train = new ImageFolderDataset(List(trainRoot, classes), transform);
        context.Record("labels.json", JsonSerializer.Serialize(new { classes }, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        if (testRoot.Length == 0)
        {
            var (rest, part) = DatasetSplits.Split(train, testFraction, context.Seed, DatasetSplits.TestSalt, "data.test-fraction");
            return new DataSplits(rest, part);
        }
        var unknown = ClassFolders(testRoot).Except(classes).ToList();
        if (unknown.Count > 0)
            throw new DatasetInvalidException(
                $"{testRoot} has class folder(s) {string.Join(", ", unknown)} that {trainRoot} does not have; the test classes must be training classes.");
        return new DataSplits(train, new ImageFolderDataset(List(testRoot, classes), transform));
    }

    ImageTransform Transform()
    {
        var grey = channels.Trim().ToLowerInvariant() switch
        {
            "grey" or "gray" or "l" => true,
            "rgb" => false,
            _ => throw new DatasetInvalidException($"data.channels is \"{channels}\"; it must be grey or rgb."),
        };
        var n = grey ? 1 : 3;
        var dims = size ?? [64, 64];
        if (dims.Length is not (1 or 2) || dims.Any(d => d <= 0))
            throw new DatasetInvalidException($"data.size is [{string.Join(", ", dims)}]; it must be [height, width] (or one number for a square), positive.");
        float[] PerChannel(double[]? values, double fallback, string key)
        {
            values ??= [fallback];
            if (values.Length == 1) return Enumerable.Repeat((float)values[0], n).ToArray();
            if (values.Length != n)
                throw new DatasetInvalidException($"data.{key} has {values.Length} values, but channels = {channels} has {n}; give one value or one per channel.");
            return values.Select(v => (float)v).ToArray();
        }
        var s = PerChannel(std, 1, "std");
        if (s.Any(v => !(v > 0))) throw new DatasetInvalidException("data.std must be positive.");
        return new ImageTransform(dims[0], dims.Length == 2 ? dims[1] : dims[0], grey, PerChannel(mean, 0, "mean"), s);
    }

    static List<string> ClassFolders(string root)
    {
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>()
            .Where(name => !name.StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        if (classes.Count == 0)
            throw new DatasetInvalidException($"{root} has no class folders; put each class's images in a folder named for the class ({root}/cat/001.png, …).");
        return classes;
    }

    static List<(string File, long Label)> List(string root, List<string> classes)
    {
        var images = new List<(string, long)>();
        for (var label = 0; label < classes.Count; label++)
        {
            var folder = Path.Combine(root, classes[label]);
            if (!Directory.Exists(folder)) continue;
            images.AddRange(Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal)
                .Select(f => (f, (long)label)));
        }
        if (images.Count == 0)
            throw new DatasetInvalidException($"{root} holds no .png, .jpg or .jpeg images in its class folders ({string.Join(", ", classes)}).");
        return images;
    }
}
