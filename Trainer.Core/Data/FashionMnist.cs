using System.Security.Cryptography;
using TrainManager.Runtime;

namespace TrainManager.Data;

/// <summary>Raised when a data set is nowhere to be found; the message lists where we looked and what to do.</summary>
public sealed class DatasetNotFoundException(string message, Exception? inner = null) : Exception(message, inner), Experiments.IBadInput;

/// <summary>Raised when a data file exists but cannot be read as what it claims to be (truncated, corrupt, another
/// format); the message names the file and what to do.</summary>
public sealed class DatasetInvalidException(string message, Exception? inner = null) : Exception(message, inner), Experiments.IBadInput;

public enum FashionMnistSplit { Train, Test }

/// <summary>Download progress of one file. <see cref="TotalBytes"/> is null when the server does not say.</summary>
public sealed record DownloadProgress(string File, long BytesReceived, long? TotalBytes);

/// <summary>Where to look for Fashion-MNIST and whether to download it.</summary>
public sealed record FashionMnistOptions
{
    /// <summary>The experiment's <c>data.path</c>: a folder with the four IDX files. When set, it is the only place looked at.</summary>
    public string? Path { get; init; }

    /// <summary>Where downloads go and are looked for; default <c>$XDG_CACHE_HOME/trainmanager/fashion-mnist</c>.</summary>
    public string CacheDirectory { get; init; } = UserCacheDirectory.For("fashion-mnist");

    /// <summary>System-wide installs; default: the Debian/Ubuntu package <c>dataset-fashion-mnist</c>.</summary>
    public IReadOnlyList<string> SystemDirectories { get; init; } = ["/usr/share/datasets/fashion-mnist"];

    public bool AllowDownload { get; init; } = true;

    /// <summary>Base addresses tried in order; each must serve the four files with their official checksums.</summary>
    public IReadOnlyList<Uri> DownloadSources { get; init; } = FashionMnist.OfficialSources;

    public Action<DownloadProgress>? Progress { get; init; }

    public TimeSpan DownloadTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Fashion-MNIST (Zalando Research, MIT licence): 60,000 training and 10,000 test 28×28 greyscale images of
/// clothing in 10 classes. Looks for the files in the configured path, the user cache, and the Debian package
/// folder, and downloads them (checksum-verified) into the cache as a last resort.
/// </summary>
public static class FashionMnist
{
    /// <summary>Per-pixel statistics of the training images (after scaling to [0, 1]).</summary>
    public const double Mean = 0.2860, Std = 0.3530;

    public const int Classes = 10;

    public static readonly IReadOnlyList<string> ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// The official address (an S3 website endpoint, which serves plain HTTP only; the MD5 check below is what
    /// makes that safe) and the data folder of the official GitHub repository as a mirror.
    /// </summary>
    public static readonly IReadOnlyList<Uri> OfficialSources =
    [
        new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        new("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    ];

    /// <summary>The four files with the MD5 checksums published by the data set's authors.</summary>
    public static readonly IReadOnlyList<(string Name, string Md5)> Files =
    [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ];

    /// <summary>Loads one split, normalised with the training statistics.</summary>
    public static IdxDataset Load(FashionMnistSplit split, FashionMnistOptions? options = null)
    {
        var directory = Locate(options);
        var (images, labels) = split == FashionMnistSplit.Train
            ? ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
            : ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
        return IdxDataset.Load(FileIn(directory, images)!, FileIn(directory, labels)!, Mean, Std);
    }

    /// <summary>The folder holding all four files (each either .gz or already unpacked).</summary>
    /// <exception cref="DatasetNotFoundException">Not found anywhere and the download failed or was disabled.</exception>
    public static string Locate(FashionMnistOptions? options = null)
    {
        options ??= new FashionMnistOptions();
        if (!string.IsNullOrWhiteSpace(options.Path))
        {
            // An explicit data.path is a promise; silently training on a different copy would hide a typo.
            var missing = Missing(options.Path);
            if (missing.Count == 0)
                return options.Path;
            throw new DatasetNotFoundException(
                $"data.path is set to '{options.Path}', but Fashion-MNIST is not there (missing: {string.Join(", ", missing)}). " +
                $"Put the four files {string.Join(", ", Files.Select(f => f.Name))} in that folder, or remove data.path " +
                "to use the cache, the Debian/Ubuntu package dataset-fashion-mnist, or a download.");
        }

        var looked = new List<string>();
        foreach (var directory in new[] { options.CacheDirectory }.Concat(options.SystemDirectories))
        {
            if (Missing(directory).Count == 0)
                return directory;
            looked.Add(directory);
        }

        string downloadOutcome;
        if (!options.AllowDownload)
            downloadOutcome = "downloading is disabled";
        else
        {
            var failures = new List<string>();
            foreach (var source in options.DownloadSources)
            {
                try
                {
                    Download(source, options);
                    return options.CacheDirectory;
                }
                catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException or TaskCanceledException or UnauthorizedAccessException)
                {
                    failures.Add($"{source}: {e.Message}");
                }
            }
            downloadOutcome = failures.Count == 0 ? "no download source is configured" : "downloads failed (" + string.Join("; ", failures) + ")";
        }

        throw new DatasetNotFoundException(
            $"Fashion-MNIST was not found in {string.Join(", ", looked)}, and {downloadOutcome}. " +
            "Install it with the Debian/Ubuntu package dataset-fashion-mnist (sudo apt install dataset-fashion-mnist), " +
            $"or put the four files ({string.Join(", ", Files.Select(f => f.Name))}) in a folder and set the experiment option data.path to it.");
    }

    /// <summary>Downloads the files the cache lacks; each is MD5-checked before it is renamed into place.</summary>
    static void Download(Uri source, FashionMnistOptions options)
    {
        Directory.CreateDirectory(options.CacheDirectory);
        using var http = new HttpClient { Timeout = options.DownloadTimeout };
        foreach (var (name, md5) in Files)
        {
            var target = Path.Combine(options.CacheDirectory, name);
            if (FileIn(options.CacheDirectory, name[..^3]) is not null)
                continue;
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(source, name));
            using var response = http.Send(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            long? total = response.Content.Headers.ContentLength;
            using var body = response.Content.ReadAsStream();
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            AtomicFile.Write(target, file =>
            {
                var buffer = new byte[1 << 16];
                long received = 0;
                int read;
                while ((read = body.Read(buffer)) > 0)
                {
                    file.Write(buffer, 0, read);
                    hash.AppendData(buffer, 0, read);
                    received += read;
                    options.Progress?.Invoke(new DownloadProgress(name, received, total));
                }
                var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                // Throwing here makes AtomicFile discard the temporary file, so a bad download never lands in the cache.
                if (actual != md5)
                    throw new InvalidDataException($"{name} has MD5 {actual}, expected {md5} (corrupt or tampered download)");
            });
        }
    }

    static List<string> Missing(string directory) =>
        Files.Select(f => f.Name[..^3]).Where(stem => FileIn(directory, stem) is null).ToList();

    /// <summary>The .gz or unpacked file for <paramref name="stem"/> in <paramref name="directory"/>, or null.</summary>
    static string? FileIn(string directory, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path))
                return path;
        }
        return null;
    }
}
