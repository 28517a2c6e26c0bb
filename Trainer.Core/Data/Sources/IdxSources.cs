using TrainManager.Components;

namespace TrainManager.Data.Sources;

/// <summary>Fashion-MNIST, preloaded: from <c>path</c> when set, else the user cache, the Debian package, or a download.
/// It reports the four files it read, wherever it found them, so its data has a fingerprint without a <c>path</c>.</summary>
[Component("fashion-mnist", Description = "Fashion-MNIST (IDX files): from path, the user cache, the Debian package or a download")]
public sealed class FashionMnistSource(DataContext context, string? path = null) : IDataSource, IReportsDataFiles
{
    public IReadOnlyList<string> FilesRead { get; private set; } = [];

    /// <summary>Where to look when <c>path</c> is not set, and whether to download: the user cache, the system package and
    /// the official sources unless code says otherwise (an experiment file cannot).</summary>
    public FashionMnistOptions Search { get; init; } = new();

    public DataSplits Open()
    {
        var options = Search with { Path = path is null ? null : context.Resolve(path) };
        var train = FashionMnist.Load(FashionMnistSplit.Train, options);
        try
        {
            var test = FashionMnist.Load(FashionMnistSplit.Test, options);
            FilesRead = [train.ImagesPath, train.LabelsPath, test.ImagesPath, test.LabelsPath];
            return new DataSplits(train, test);
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }
}

/// <summary>Any MNIST-family set as four IDX files (<c>train-</c> and <c>t10k-</c> images and labels, plain or .gz) in
/// <c>path</c>, preloaded and normalised with Fashion-MNIST's statistics unless <c>mean</c> and <c>std</c> say otherwise.
/// It reports the four files it read, so other files in that folder are no part of its data's fingerprint.</summary>
[Component("mnist-idx", Description = "MNIST-family IDX files (train-/t10k- images and labels) in path")]
public sealed class MnistIdxSource(DataContext context, string? path = null, double mean = FashionMnist.Mean, double std = FashionMnist.Std) : IDataSource, IReportsDataFiles
{
    public IReadOnlyList<string> FilesRead { get; private set; } = [];

    public DataSplits Open()
    {
        var directory = path is null
            ? throw new DatasetNotFoundException("Data type 'mnist-idx' needs data.path: a folder with train-/t10k- images and labels IDX files.")
            : context.Resolve(path);
        var train = Load(directory, "train");
        try
        {
            var test = Load(directory, "t10k");
            FilesRead = [train.ImagesPath, train.LabelsPath, test.ImagesPath, test.LabelsPath];
            return new DataSplits(train, test);
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    IdxDataset Load(string directory, string prefix)
    {
        string Find(string kind, int rank) =>
            new[] { $"{prefix}-{kind}-idx{rank}-ubyte", $"{prefix}-{kind}-idx{rank}-ubyte.gz" }
                .Select(f => Path.Combine(directory, f)).FirstOrDefault(File.Exists)
            ?? throw new DatasetNotFoundException($"No {prefix} {kind} IDX file ({prefix}-{kind}-idx{rank}-ubyte[.gz]) in '{directory}'. Set data.path to the folder holding them.");
        return IdxDataset.Load(Find("images", 3), Find("labels", 1), mean, std);
    }
}
