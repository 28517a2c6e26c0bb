using System.Text.Json;
using SkiaSharp;
using TrainManager.Components;
using TrainManager.Data;
using TrainManager.Data.Sources;
using TrainManager.Data.Sources.Csv;
using TrainManager.Data.Sources.Images;
using TrainManager.Data.Sources.Npy;
using TrainManager.Experiments;
using TrainManager.Tests.Torch;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Data;

public sealed class DatasetFingerprintTests
{
    /// <summary>Larger than both samples together, so its middle is read by neither.</summary>
    const int LargeFileBytes = 3 * DatasetFingerprint.SampleBytes;

    /// <summary>A folder with a small file, a large one and one in a subfolder, each with its own bytes.</summary>
    static string WriteFolder()
    {
        var dir = TestDirectory.Create("fingerprint");
        File.WriteAllBytes(Path.Combine(dir, "small.bin"), Bytes(1000, seed: 1));
        File.WriteAllBytes(Path.Combine(dir, "large.bin"), Bytes(LargeFileBytes, seed: 2));
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllBytes(Path.Combine(dir, "sub", "labels.bin"), Bytes(300, seed: 3));
        return dir;
    }

    static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    static string CopyOf(string source)
    {
        var target = TestDirectory.Create("fingerprint-copy");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return target;
    }

    static void FlipByte(string file, long offset)
    {
        using var stream = File.Open(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        var value = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(value ^ 0xFF));
    }

    [Fact]
    public void The_same_data_in_two_folders_has_the_same_fingerprint_and_names_where_each_was_read()
    {
        var original = WriteFolder();
        var copy = CopyOf(original);

        var here = DatasetFingerprint.Of([original]);
        var there = DatasetFingerprint.Of([copy]);

        Assert.True(here.Matches(there));
        Assert.Equal(3, here.Files);
        Assert.Equal(1000 + LargeFileBytes + 300, here.Size);
        Assert.Equal([original], here.Locations);
        Assert.Equal([copy], there.Locations);
    }

    [Theory]
    [InlineData("small.bin", 500)]          // a small file is hashed whole
    [InlineData("large.bin", 0)]            // the first byte
    [InlineData("large.bin", LargeFileBytes - 1)] // the last byte
    [InlineData("sub/labels.bin", 0)]       // in a subfolder
    public void One_byte_changed_in_a_sampled_part_changes_the_fingerprint(string file, long offset)
    {
        var original = WriteFolder();
        var copy = CopyOf(original);

        FlipByte(Path.Combine(copy, file), offset);

        Assert.False(DatasetFingerprint.Of([original]).Matches(DatasetFingerprint.Of([copy])));
    }

    [Fact]
    public void A_change_in_the_middle_of_a_large_file_that_keeps_its_size_is_not_seen_as_the_rule_says()
    {
        var original = WriteFolder();
        var copy = CopyOf(original);

        FlipByte(Path.Combine(copy, "large.bin"), LargeFileBytes / 2);

        Assert.True(DatasetFingerprint.Of([original]).Matches(DatasetFingerprint.Of([copy])));
    }

    [Theory]
    [InlineData("removed")]
    [InlineData("added")]
    [InlineData("renamed")]
    [InlineData("grown")]
    public void A_file_removed_added_renamed_or_resized_changes_the_fingerprint(string change)
    {
        var original = WriteFolder();
        var copy = CopyOf(original);

        switch (change)
        {
            case "removed": File.Delete(Path.Combine(copy, "sub", "labels.bin")); break;
            case "added": File.WriteAllBytes(Path.Combine(copy, "sub", "more.bin"), [1, 2, 3]); break;
            case "renamed": File.Move(Path.Combine(copy, "small.bin"), Path.Combine(copy, "other.bin")); break;
            case "grown": File.AppendAllText(Path.Combine(copy, "small.bin"), "x"); break;
        }

        Assert.False(DatasetFingerprint.Of([original]).Matches(DatasetFingerprint.Of([copy])));
    }

    [Fact]
    public void Hidden_files_and_folders_are_no_part_of_a_folder_s_data()
    {
        var original = WriteFolder();
        var copy = CopyOf(original);

        File.WriteAllText(Path.Combine(copy, ".DS_Store"), "finder state");
        Directory.CreateDirectory(Path.Combine(copy, ".cache"));
        File.WriteAllText(Path.Combine(copy, ".cache", "index"), "tool state");

        Assert.True(DatasetFingerprint.Of([original]).Matches(DatasetFingerprint.Of([copy])));
    }

    [Fact]
    public void A_file_under_two_of_the_paths_read_is_counted_once_and_paths_that_do_not_exist_are_left_out()
    {
        var dir = WriteFolder();

        var fingerprint = DatasetFingerprint.Of([dir, Path.Combine(dir, "sub"), Path.Combine(dir, "sub", "labels.bin"), Path.Combine(dir, "absent.csv")]);

        Assert.Equal(3, fingerprint.Files);
        Assert.Equal(1000 + LargeFileBytes + 300, fingerprint.Size);
    }

    [Fact]
    public void The_same_files_read_in_another_order_of_paths_differ()
    {
        var dir = TestDirectory.Create("fingerprint-order");
        File.WriteAllText(Path.Combine(dir, "a.csv"), "1,0\n");
        File.WriteAllText(Path.Combine(dir, "b.csv"), "2,1\n");

        // Train and test swapped is other data, though the files are the same.
        Assert.False(DatasetFingerprint.Of([Path.Combine(dir, "a.csv"), Path.Combine(dir, "b.csv")])
            .Matches(DatasetFingerprint.Of([Path.Combine(dir, "b.csv"), Path.Combine(dir, "a.csv")])));
    }

    [Fact]
    public void A_csv_source_s_files_are_known_from_the_paths_it_resolved()
    {
        var dir = TestDirectory.Create("fingerprint-csv");
        File.WriteAllText(Path.Combine(dir, "train.csv"), "x,y\n1,0\n2,1\n3,0\n");
        File.WriteAllText(Path.Combine(dir, "test.csv"), "x,y\n4,1\n");
        var reads = new DataReadLog();
        var source = new CsvSource(new DataContext(dir) { Reads = reads }, "train.csv", testPath: "test.csv");

        using (source.Open()) { }
        var fingerprint = DatasetFingerprint.Of(source, reads);

        Assert.Equal(2, fingerprint.Files);
        Assert.Equal(new FileInfo(Path.Combine(dir, "train.csv")).Length + new FileInfo(Path.Combine(dir, "test.csv")).Length, fingerprint.Size);
        Assert.Equal(64, fingerprint.ManifestSha256.Length);
    }

    [Fact]
    public void An_npy_source_s_files_are_known_from_the_paths_it_resolved()
    {
        var dir = TestDirectory.Create("fingerprint-npy");
        File.WriteAllBytes(Path.Combine(dir, "x.npy"), DataFiles.Npy("<f4", [4, 2], new float[8]));
        File.WriteAllBytes(Path.Combine(dir, "y.npy"), DataFiles.Npy("<i8", [4], new long[] { 0, 1, 0, 1 }));
        var reads = new DataReadLog();
        var source = new NpySource(new DataContext(dir) { Reads = reads }, "x.npy", "y.npy", testFraction: 0.5);

        using (source.Open()) { }
        var fingerprint = DatasetFingerprint.Of(source, reads);

        Assert.Equal(2, fingerprint.Files);
        Assert.Equal(Directory.GetFiles(dir).Sum(f => new FileInfo(f).Length), fingerprint.Size);
    }

    [Fact]
    public void An_image_folder_source_s_fingerprint_is_every_file_under_its_folder()
    {
        var dir = TestDirectory.Create("fingerprint-images");
        foreach (var split in new[] { "train", "test" })
        {
            DataFiles.Image(Path.Combine(dir, split, "cat", "1.png"), new SKColor(255, 0, 0));
            DataFiles.Image(Path.Combine(dir, split, "dog", "1.png"), new SKColor(0, 0, 255));
        }
        var reads = new DataReadLog();
        var source = new ImageFolderSource(new DataContext(dir) { Reads = reads }, ".", size: [4]);

        using (source.Open()) { }
        var fingerprint = DatasetFingerprint.Of(source, reads);

        Assert.Equal(4, fingerprint.Files);
        Assert.Equal([dir], fingerprint.Locations);
    }

    /// <summary>The unpacked IDX files of the Fashion-MNIST slice: 2,000 and 500 28×28 images and their labels, with headers.</summary>
    const long SliceContentBytes = (16 + 2000 * 784) + (8 + 2000) + (16 + 500 * 784) + (8 + 500);

    static void Gzip(string path, byte[] content, System.IO.Compression.CompressionLevel level)
    {
        using var file = File.Create(path);
        using var gzip = new System.IO.Compression.GZipStream(file, level);
        gzip.Write(content);
    }

    [Fact]
    public void Gzip_files_are_described_by_what_they_pack_so_other_packings_match_and_other_content_does_not()
    {
        var content = Bytes(LargeFileBytes, seed: 4);
        var (first, second, changed) = (TestDirectory.Create("gz-a"), TestDirectory.Create("gz-b"), TestDirectory.Create("gz-c"));
        Gzip(Path.Combine(first, "x.gz"), content, System.IO.Compression.CompressionLevel.Optimal);
        Gzip(Path.Combine(second, "x.gz"), content, System.IO.Compression.CompressionLevel.Fastest);
        content[LargeFileBytes / 2] ^= 0xFF; // the middle: a plain file's samples would not see it; the CRC does
        Gzip(Path.Combine(changed, "x.gz"), content, System.IO.Compression.CompressionLevel.Optimal);

        var packed = DatasetFingerprint.Of([first]);

        Assert.NotEqual(new FileInfo(Path.Combine(first, "x.gz")).Length, new FileInfo(Path.Combine(second, "x.gz")).Length);
        Assert.True(packed.Matches(DatasetFingerprint.Of([second])));
        Assert.False(packed.Matches(DatasetFingerprint.Of([changed])));
        Assert.Equal(LargeFileBytes, packed.Size);
    }

    [Fact]
    public void A_gzip_file_with_its_original_name_in_the_header_matches_one_without_as_fashion_mnist_s_two_copies_differ()
    {
        var (downloaded, packaged) = (TestDirectory.Create("gz-named"), TestDirectory.Create("gz-bare"));
        var bare = File.ReadAllBytes(TestPaths.SliceFile("t10k-labels-idx1-ubyte.gz"));
        Assert.Equal(0, bare[3] & 0x08); // the slice's header names no file
        var named = bare[..10].Concat(System.Text.Encoding.ASCII.GetBytes("t10k-labels-idx1-ubyte\0")).Concat(bare[10..]).ToArray();
        named[3] |= 0x08; // FNAME: the original file name follows the fixed header
        File.WriteAllBytes(Path.Combine(downloaded, "t10k-labels-idx1-ubyte.gz"), named);
        File.WriteAllBytes(Path.Combine(packaged, "t10k-labels-idx1-ubyte.gz"), bare);

        Assert.True(DatasetFingerprint.Of([downloaded]).Matches(DatasetFingerprint.Of([packaged])));
    }

    [Fact]
    public void A_file_named_gz_that_is_no_gzip_is_sampled_as_it_is()
    {
        var dir = TestDirectory.Create("gz-plain");
        File.WriteAllText(Path.Combine(dir, "notes.gz"), "plain text, not packed");

        var fingerprint = DatasetFingerprint.Of([dir]);

        Assert.Equal(1, fingerprint.Files);
        Assert.Equal(new FileInfo(Path.Combine(dir, "notes.gz")).Length, fingerprint.Size);
    }

    [Fact]
    public void Fashion_mnist_found_without_a_path_reports_the_four_files_it_read()
    {
        var systemCopy = CopyOf(TestPaths.FashionMnistSlice);
        File.WriteAllText(Path.Combine(systemCopy, "README"), "not read by the source");
        var reads = new DataReadLog();
        var source = new FashionMnistSource(new DataContext(TestDirectory.Create("fingerprint-experiment")) { Reads = reads })
        {
            Search = new FashionMnistOptions { CacheDirectory = TestDirectory.Create("empty-cache"), SystemDirectories = [systemCopy], AllowDownload = false },
        };

        using (source.Open()) { }
        var fingerprint = DatasetFingerprint.Of(source, reads);

        Assert.Empty(reads.Paths);
        Assert.Equal(4, fingerprint.Files);
        Assert.Equal(SliceContentBytes, fingerprint.Size);
        Assert.Equal([systemCopy], fingerprint.Locations);
    }

    [Fact]
    public void An_mnist_idx_source_reports_the_four_files_it_read_not_the_rest_of_its_folder()
    {
        var copy = CopyOf(TestPaths.FashionMnistSlice);
        var reads = new DataReadLog();
        var source = new MnistIdxSource(new DataContext(copy) { Reads = reads }, ".");

        using (source.Open()) { }
        var before = DatasetFingerprint.Of(source, reads);
        File.WriteAllText(Path.Combine(copy, "README"), "not read by the source");
        using (source.Open()) { }

        Assert.Equal(4, before.Files);
        Assert.Equal(before, DatasetFingerprint.Of(source, reads));
    }

    /// <summary>A user's source that knows nothing of fingerprints: it reads one file, through <see cref="DataContext.Resolve"/>.</summary>
    [Component("fingerprint-user-bytes")]
    sealed class UserBytesSource(DataContext context, string path) : IDataSource
    {
        public DataSplits Open()
        {
            var values = File.ReadAllBytes(context.Resolve(path)).Select(b => (float)b).ToArray();
            return new DataSplits(
                new TensorDataset(tensor(values).reshape(-1, 1), zeros(values.Length, ScalarType.Int64)),
                new TensorDataset(tensor(values).reshape(-1, 1), zeros(values.Length, ScalarType.Int64)));
        }
    }

    [Fact]
    public void A_user_source_that_reads_through_resolve_gets_its_fingerprint_with_no_work_of_its_own()
    {
        var dir = TestDirectory.Create("fingerprint-user");
        File.WriteAllBytes(Path.Combine(dir, "rows.bin"), [1, 2, 3, 4]);
        var experiment = FashionMnistExperiment(dir) with
        {
            Data = new DataSection { Type = "fingerprint-user-bytes", Path = Path.Combine(dir, "rows.bin") },
        };

        var measured = DatasetFingerprint.Measure(experiment, TestComponents.Catalog.WithTypes(typeof(UserBytesSource)));

        Assert.Equal(1, measured.Files);
        Assert.Equal(4, measured.Size);
        Assert.Equal([dir], measured.Locations);
    }

    static Experiment FashionMnistExperiment(string dataPath) => new()
    {
        Name = "fingerprint",
        Seed = 3,
        Epochs = 1,
        BatchSize = 64,
        Threads = 1,
        Model = new ModelSection("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 8 } }),
        Data = new DataSection { Type = "fashion-mnist", Path = dataPath },
        RunsDirectory = Path.Combine(TestDirectory.Create("fingerprint-runs"), "runs"),
        ResolvedHocon = "name = fingerprint\n",
    };

    [Fact]
    public void Measure_takes_the_fingerprint_of_the_files_the_experiment_s_source_reads()
    {
        var copy = CopyOf(TestPaths.FashionMnistSlice);

        var measured = DatasetFingerprint.Measure(FashionMnistExperiment(copy), TestComponents.Catalog);

        Assert.True(measured.Matches(DatasetFingerprint.Of(FashionMnist.Files.Select(f => Path.Combine(copy, f.Name)))));
        Assert.Equal(4, measured.Files);
    }

    /// <summary>An npy experiment over <paramref name="dir"/>'s x.npy and y.npy, with absolute paths.</summary>
    static Experiment NpyExperiment(string dir) => new()
    {
        Name = "fingerprint-npy",
        Seed = 4,
        Epochs = 1,
        BatchSize = 8,
        Threads = 1,
        Model = new ModelSection("mlp", new Dictionary<string, object?> { ["input"] = 4, ["hidden"] = new[] { 8 }, ["classes"] = 2 }),
        Data = new DataSection
        {
            Type = "npy",
            Settings = new Dictionary<string, object?> { ["inputs"] = Path.Combine(dir, "x.npy"), ["targets"] = Path.Combine(dir, "y.npy"), ["test-fraction"] = 0.25 },
        },
        RunsDirectory = Path.Combine(dir, "runs"),
        ResolvedHocon = "name = fingerprint-npy\n",
    };

    static string WriteNpy(float first = 0)
    {
        var dir = TestDirectory.Create("fingerprint-npy-data");
        var x = Enumerable.Range(0, 32 * 4).Select(i => i / 100f).ToArray();
        x[0] = first;
        File.WriteAllBytes(Path.Combine(dir, "x.npy"), DataFiles.Npy("<f4", [32, 4], x));
        File.WriteAllBytes(Path.Combine(dir, "y.npy"), DataFiles.Npy("<i8", [32], Enumerable.Range(0, 32).Select(i => (long)(i % 2)).ToArray()));
        return dir;
    }

    [Fact]
    public void Opening_data_that_differs_from_the_expected_fingerprint_is_refused_naming_both_and_what_to_do()
    {
        var submitted = DatasetFingerprint.Measure(NpyExperiment(WriteNpy()), TestComponents.Catalog);
        var nodeCopy = WriteNpy(first: 7);

        var e = Assert.Throws<DatasetMismatchException>(() => DataSources.Open(NpyExperiment(nodeCopy), TestComponents.Catalog, expectedData: submitted));

        Assert.IsAssignableFrom<IBadInput>(e);
        Assert.Contains(submitted.Describe(), e.Message);
        Assert.Contains(e.Actual.Describe(), e.Message);
        Assert.Contains(nodeCopy, e.Message);
        Assert.Contains($"{submitted.Size:N0} bytes", e.Message);
        Assert.Contains(submitted.ManifestSha256[..12], e.Message);
        Assert.Contains(e.Actual.ManifestSha256[..12], e.Message);
        Assert.Contains("Copy the same data to every node", e.Message);
    }

    [Fact]
    public void Data_that_matches_the_expected_fingerprint_opens_wherever_it_lies_and_no_fingerprint_is_no_check()
    {
        var submitted = DatasetFingerprint.Measure(NpyExperiment(WriteNpy()), TestComponents.Catalog);

        using (var splits = DataSources.Open(NpyExperiment(WriteNpy()), TestComponents.Catalog, expectedData: submitted))
            Assert.Equal(24, splits.Train.Count);
        using (var other = DataSources.Open(NpyExperiment(WriteNpy(first: 7)), TestComponents.Catalog, expectedData: null))
            Assert.Equal(24, other.Train.Count);
    }

    [Fact]
    public void A_trainer_refuses_data_that_differs_from_the_expected_fingerprint_and_builds_on_data_that_matches()
    {
        var submitted = DatasetFingerprint.Measure(NpyExperiment(WriteNpy()), TestComponents.Catalog);

        Assert.Throws<DatasetMismatchException>(() =>
            Trainer.FromExperiment(NpyExperiment(WriteNpy(first: 7)), TestComponents.Catalog, null, [], expectedData: submitted));
        using var trainer = Trainer.FromExperiment(NpyExperiment(WriteNpy()), TestComponents.Catalog, null, [], expectedData: submitted);

        Assert.Equal(3, trainer.BatchesPerEpoch);
    }

    [Fact]
    public void A_fingerprint_round_trips_through_json_as_plain_properties()
    {
        var fingerprint = DatasetFingerprint.Of([WriteFolder()]);
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, RespectRequiredConstructorParameters = true };

        var json = JsonSerializer.Serialize(fingerprint, options);
        var back = JsonSerializer.Deserialize<DatasetFingerprint>(json, options);

        Assert.Contains("\"manifest_sha256\":", json);
        Assert.Equal(fingerprint, back);
    }
}
