using System.Diagnostics;
using System.Text;
using TorchSharp;
using TrainManager.Data;
using TrainManager.Experiments;
using TrainManager.Training;

namespace TrainManager.Bench;

/// <summary>
/// End-to-end: per-epoch time of <see cref="Trainer.Fit"/> on Fashion-MNIST written by the bench itself as a CSV file
/// and as NumPy .npy files, both read lazily with batches prefetched on a background thread, against the preloaded IDX
/// source, for the same model and seed, measured in the same process with epochs interleaved, as ratios (target ≤ 1.05).
/// The three see the same pixels, normalised the same way.
/// <code>dotnet run -c Release --project bench/Bench -- data [--model cnn|mlp] [--epochs N] [--limit N] [--threads N] [--prefetch N]</code>
/// </summary>
public static class DataSourceBenchmark
{
    private sealed record Options(string Model, int Epochs, int Limit, int Threads, int Prefetch);

    public static int Run(string[] args)
    {
        var options = Parse(args);
        torch.set_num_threads(options.Threads);
        var folder = Path.Combine(Path.GetTempPath(), "trainmanager-bench-data");
        Directory.CreateDirectory(folder);
        var watch = Stopwatch.StartNew();
        var files = WriteFiles(folder, options.Limit);
        Console.WriteLine($"Data benchmark: model {options.Model}, {options.Epochs} measured epochs (after one warm-up), {files.Train} training and " +
                          $"{files.Test} test images, {options.Threads} thread(s), prefetch {options.Prefetch}; files written in {watch.Elapsed.TotalSeconds:F1} s to {folder}");

        var sources = new (string Name, DataSection Data)[]
        {
            ("idx (preloaded)", new DataSection { Type = "fashion-mnist", TrainLimit = options.Limit, TestLimit = options.Limit > 0 ? options.Limit / 6 : 0, Prefetch = 0 }),
            ("npy (lazy)", new DataSection
            {
                Type = "npy", Prefetch = options.Prefetch,
                Settings = Settings(("inputs", files.TrainX), ("targets", files.TrainY), ("test-inputs", files.TestX), ("test-targets", files.TestY),
                    ("mean", FashionMnist.Mean * 255), ("std", FashionMnist.Std * 255)),
            }),
            ("csv (lazy)", new DataSection
            {
                Type = "csv", Prefetch = options.Prefetch,
                Settings = Settings(("path", files.TrainCsv), ("test-path", files.TestCsv), ("label", "label"), ("shape", new List<object?> { 1L, 28L, 28L }),
                    ("mean", FashionMnist.Mean * 255), ("std", FashionMnist.Std * 255)),
            }),
        };

        // What reading costs, apart from training: one epoch's batches read on this thread, no prefetch. Its CPU time bounds
        // what a source can add to an epoch where the reading thread gets no core of its own.
        foreach (var (name, data) in sources)
        {
            using var splits = DataSources.Open(Experiment(options, data with { Prefetch = 0 }), BenchExtensions.Catalog);
            var sampler = new EpochSampler(splits.Train.Count, 128, seed: 1);
            using var self = Process.GetCurrentProcess();
            var cpu = TimeSpan.Zero;
            for (var pass = 0; pass < 2; pass++) // the first warms the page cache and the JIT; the second is reported
            {
                self.Refresh();
                cpu = self.TotalProcessorTime;
                watch.Restart();
                foreach (var indices in sampler.Batches(pass))
                    splits.Train.GetBatch(indices).Dispose();
            }
            self.Refresh();
            Console.WriteLine($"{name}: reading one epoch's batches alone takes {watch.Elapsed.TotalSeconds:F2} s ({(self.TotalProcessorTime - cpu).TotalSeconds:F2} s of CPU)");
        }


        var fits = new List<(Trainer Trainer, TrainingBenchmark.EpochGate Gate)>();
        var runs = new List<RunDirectory>();
        foreach (var (name, data) in sources)
        {
            var experiment = Experiment(options, data);
            var run = RunDirectory.Create(experiment);
            var gate = new TrainingBenchmark.EpochGate();
            watch.Restart();
            fits.Add((Trainer.FromExperiment(experiment, BenchExtensions.Catalog, run, [gate]), gate));
            runs.Add(run);
            Console.WriteLine($"{name}: opened in {watch.Elapsed.TotalSeconds:F2} s");
        }
        var times = InterleavedFits.Measure(fits, options.Epochs);
        foreach (var (trainer, _) in fits) trainer.Dispose();
        foreach (var run in runs) Directory.Delete(run.Path, recursive: true);

        for (var i = 0; i < sources.Length; i++)
        {
            var line = $"{sources[i].Name}: {Statistics.MedianEpoch(times[i])}";
            if (i > 0)
                line += $"   median paired ratio to idx = {Statistics.MedianPairedRatio(times[i], times[0]):F3} (target <= 1.05)";
            Console.WriteLine(line);
        }
        return 0;
    }

    private static Dictionary<string, object?> Settings(params (string Key, object? Value)[] settings) =>
        settings.ToDictionary(s => s.Key, s => s.Value);

    private static Experiment Experiment(Options options, DataSection data) => new()
    {
        Name = $"bench-data-{data.Type}",
        Seed = 1,
        Epochs = options.Epochs + 1,
        BatchSize = 128,
        Threads = options.Threads,
        Model = ExampleModels.Section(options.Model),
        Data = data,
        Checkpoint = new CheckpointSection { EveryEpochs = 0, Keep = 1 },
        RunsDirectory = Path.Combine(Path.GetTempPath(), "trainmanager-bench-runs"),
        ResolvedHocon = $"name = bench-data-{data.Type}\n",
    };

    private sealed record Files(int Train, int Test, string TrainX, string TrainY, string TestX, string TestY, string TrainCsv, string TestCsv);

    /// <summary>Writes the IDX data as .npy (uint8 images [N, 1, 28, 28], int64 labels) and CSV (a header, 784 pixel
    /// columns and the label), limited like the IDX source is.</summary>
    private static Files WriteFiles(string folder, int limit)
    {
        var directory = FashionMnist.Locate();
        (byte[] Pixels, byte[] Labels, int Count) Read(string prefix, int max)
        {
            var images = IdxFile.Read(FileIn(directory, $"{prefix}-images-idx3-ubyte"));
            var labels = IdxFile.Read(FileIn(directory, $"{prefix}-labels-idx1-ubyte"));
            var count = max > 0 ? Math.Min(max, images.Dimensions[0]) : images.Dimensions[0];
            return (images.Data[..(count * 784)], labels.Data[..count], count);
        }
        var train = Read("train", limit);
        var test = Read("t10k", limit > 0 ? limit / 6 : 0);
        var files = new Files(train.Count, test.Count,
            Path.Combine(folder, $"train-x-{train.Count}.npy"), Path.Combine(folder, $"train-y-{train.Count}.npy"),
            Path.Combine(folder, $"test-x-{test.Count}.npy"), Path.Combine(folder, $"test-y-{test.Count}.npy"),
            Path.Combine(folder, $"train-{train.Count}.csv"), Path.Combine(folder, $"test-{test.Count}.csv"));
        WriteNpy(files.TrainX, "|u1", [train.Count, 1, 28, 28], train.Pixels);
        WriteNpy(files.TrainY, "<i8", [train.Count], train.Labels.SelectMany(l => BitConverter.GetBytes((long)l)).ToArray());
        WriteNpy(files.TestX, "|u1", [test.Count, 1, 28, 28], test.Pixels);
        WriteNpy(files.TestY, "<i8", [test.Count], test.Labels.SelectMany(l => BitConverter.GetBytes((long)l)).ToArray());
        WriteCsv(files.TrainCsv, train.Pixels, train.Labels, train.Count);
        WriteCsv(files.TestCsv, test.Pixels, test.Labels, test.Count);
        return files;
    }

    private static string FileIn(string directory, string stem) =>
        File.Exists(Path.Combine(directory, stem + ".gz")) ? Path.Combine(directory, stem + ".gz") : Path.Combine(directory, stem);

    /// <summary>An .npy file as numpy.save writes it: format 1.0, the header padded to a multiple of 64 bytes.</summary>
    private static void WriteNpy(string path, string descr, long[] shape, byte[] data)
    {
        var dims = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}";
        var total = 10 + dict.Length + 1;
        var header = dict + new string(' ', (total + 63) / 64 * 64 - total) + "\n";
        using var file = File.Create(path);
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        file.Write(BitConverter.GetBytes((ushort)header.Length));
        file.Write(Encoding.ASCII.GetBytes(header));
        file.Write(data);
    }

    private static void WriteCsv(string path, byte[] pixels, byte[] labels, int count)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), 1 << 20);
        writer.WriteLine(string.Join(",", Enumerable.Range(0, 784).Select(i => $"p{i}")) + ",label");
        var line = new StringBuilder(4096);
        for (var n = 0; n < count; n++)
        {
            line.Clear();
            for (var i = 0; i < 784; i++) line.Append(pixels[n * 784 + i]).Append(',');
            line.Append(labels[n]);
            writer.WriteLine(line);
        }
    }

    private static Options Parse(string[] args)
    {
        string Value(string name, string fallback) => BenchArguments.Value(args, name, fallback);
        return new Options(Value("--model", "cnn"), int.Parse(Value("--epochs", "3")), int.Parse(Value("--limit", "0")),
            int.Parse(Value("--threads", "2")), int.Parse(Value("--prefetch", "2")));
    }
}
