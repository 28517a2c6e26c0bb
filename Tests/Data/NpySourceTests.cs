using System.IO.Compression;
using TrainManager.Data;
using TrainManager.Data.Sources.Npy;
using static TorchSharp.torch;

namespace TrainManager.Tests.Data;

public sealed class NpySourceTests
{
    readonly string _dir = TestDirectory.Create("npy");

    string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    DataContext Context => new(_dir, Seed: 5);

    static float[] Range(int count) => Enumerable.Range(0, count).Select(i => (float)i).ToArray();

    [Fact]
    public void Rows_of_an_npy_file_are_read_lazily_at_their_offsets()
    {
        Write("x.npy", DataFiles.Npy("<f4", [10, 2, 3], Range(60)));
        Write("y.npy", DataFiles.Npy("<i8", [10], Enumerable.Range(0, 10).Select(i => (long)i * 10).ToArray()));

        using var splits = new NpySource(Context, "x.npy", "y.npy", testInputs: "x.npy", testTargets: "y.npy").Open();
        using var batch = splits.Train.GetBatch([7, 2]);

        Assert.IsType<NpyDataset>(splits.Train);
        Assert.Equal(new long[] { 2, 2, 3 }, batch.Input.shape);
        Assert.Equal(Range(60).Skip(42).Take(6).Concat(Range(60).Skip(12).Take(6)).ToArray(), batch.Input.data<float>().ToArray());
        Assert.Equal(new long[] { 70, 20 }, batch.Target.data<long>().ToArray());
    }

    [Theory]
    [InlineData("|u1")]
    [InlineData("<f8")]
    [InlineData("<i4")]
    [InlineData("<i8")]
    public void Every_accepted_input_dtype_reads_as_float32(string descr)
    {
        var values = new double[] { 0, 1, 2, 250 };
        byte[] data = descr switch
        {
            "|u1" => values.Select(v => (byte)v).ToArray(),
            "<f8" => values.SelectMany(BitConverter.GetBytes).ToArray(),
            "<i4" => values.SelectMany(v => BitConverter.GetBytes((int)v)).ToArray(),
            _ => values.SelectMany(v => BitConverter.GetBytes((long)v)).ToArray(),
        };
        Write("x.npy", DataFiles.Npy(descr, [4, 1], data));
        Write("y.npy", DataFiles.Npy("<i4", [4], new[] { 1, 0, 1, 0 }));

        using var splits = new NpySource(Context, "x.npy", "y.npy", testFraction: 0.5).Open();
        var all = ((SubsetDataset)splits.Train).Indices.Concat(((SubsetDataset)splits.Test).Indices).ToArray();
        using var x = NpyArray.Open(Path.Combine(_dir, "x.npy"));

        Assert.Equal(new[] { 0f, 1, 2, 250 }, x.ReadFloats([0, 1, 2, 3]));
        Assert.Equal(4, all.Distinct().Count());
    }

    [Fact]
    public void Float_targets_stay_floats()
    {
        Write("x.npy", DataFiles.Npy("<f4", [2, 1], new[] { 1f, 2f }));
        Write("y.npy", DataFiles.Npy("<f4", [2, 3], new[] { 0f, 1, 0, 1, 1, 0 }));

        using var splits = new NpySource(Context, "x.npy", "y.npy", testInputs: "x.npy", testTargets: "y.npy").Open();
        using var batch = splits.Test.GetBatch([1]);

        Assert.Equal(ScalarType.Float32, batch.Target.dtype);
        Assert.Equal(new[] { 1f, 1, 0 }, batch.Target.data<float>().ToArray());
    }

    [Theory]
    [InlineData(CompressionLevel.NoCompression)]
    [InlineData(CompressionLevel.Optimal)]
    public void An_npz_archive_gives_its_named_arrays(CompressionLevel level)
    {
        DataFiles.Npz(Path.Combine(_dir, "data.npz"), level,
            ("x_train", DataFiles.Npy("<f4", [3, 2], Range(6))), ("y_train", DataFiles.Npy("<i8", [3], new long[] { 2, 1, 0 })),
            ("x_test", DataFiles.Npy("<f4", [1, 2], new[] { 9f, 8f })), ("y_test", DataFiles.Npy("<i8", [1], new long[] { 1 })));

        using var splits = new NpzSource(Context, "data.npz", "x_train", "y_train", "x_test", "y_test").Open();
        using var train = splits.Train.GetBatch([2]);
        using var test = splits.Test.GetBatch([0]);

        Assert.Equal(new[] { 4f, 5f }, train.Input.data<float>().ToArray());
        Assert.Equal(new long[] { 0 }, train.Target.data<long>().ToArray());
        Assert.Equal(new[] { 9f, 8f }, test.Input.data<float>().ToArray());
    }

    [Fact]
    public void A_big_endian_dtype_is_refused_naming_the_file_what_was_found_and_what_is_accepted()
    {
        var file = Write("x.npy", DataFiles.Npy(">f4", [2], new byte[8]));
        Write("y.npy", DataFiles.Npy("<i8", [2], new long[2]));

        var error = Assert.Throws<DatasetInvalidException>(() => new NpySource(Context, "x.npy", "y.npy", testFraction: 0.5).Open());

        Assert.StartsWith($"{file} holds dtype '>f4'; accepted: float32 (<f4)", error.Message);
    }

    [Fact]
    public void A_fortran_ordered_array_is_refused()
    {
        var file = Write("x.npy", DataFiles.Npy("<f4", [2, 2], new byte[16], fortran: true));
        Write("y.npy", DataFiles.Npy("<i8", [2], new long[2]));

        var error = Assert.Throws<DatasetInvalidException>(() => new NpySource(Context, "x.npy", "y.npy", testFraction: 0.5).Open());

        Assert.StartsWith($"{file} is stored in Fortran order", error.Message);
    }

    [Fact]
    public void Inputs_and_targets_of_different_lengths_are_refused_with_both_shapes()
    {
        var x = Write("x.npy", DataFiles.Npy("<f4", [3, 2], Range(6)));
        var y = Write("y.npy", DataFiles.Npy("<i8", [2], new long[2]));

        var error = Assert.Throws<DatasetInvalidException>(() => new NpySource(Context, "x.npy", "y.npy", testFraction: 0.5).Open());

        Assert.Equal($"{x} has 3 rows (shape (3, 2)) but {y} has 2 (shape (2)); inputs and targets need one row per example each.", error.Message);
    }

    [Fact]
    public void A_truncated_file_is_refused()
    {
        var full = DataFiles.Npy("<f4", [4, 2], Range(8));
        var file = Write("x.npy", full[..^4]);
        Write("y.npy", DataFiles.Npy("<i8", [4], new long[4]));

        var error = Assert.Throws<DatasetInvalidException>(() => new NpySource(Context, "x.npy", "y.npy", testFraction: 0.5).Open());

        Assert.StartsWith($"{file} is truncated", error.Message);
    }

    [Fact]
    public void A_file_that_is_not_npy_is_refused()
    {
        var file = Write("x.npy", "not an array"u8.ToArray());
        Write("y.npy", DataFiles.Npy("<i8", [4], new long[4]));

        var error = Assert.Throws<DatasetInvalidException>(() => new NpySource(Context, "x.npy", "y.npy", testFraction: 0.5).Open());

        Assert.StartsWith($"{file} is not a NumPy .npy array", error.Message);
    }

    [Fact]
    public void An_npz_without_the_named_array_lists_what_it_holds()
    {
        var file = Path.Combine(_dir, "data.npz");
        DataFiles.Npz(file, CompressionLevel.NoCompression, ("inputs", DataFiles.Npy("<f4", [1], new[] { 1f })));

        var error = Assert.Throws<DatasetInvalidException>(() => new NpzSource(Context, "data.npz", testFraction: 0.5).Open());

        Assert.StartsWith($"data.targets names array 'targets', but {file} holds inputs.", error.Message);
    }
}
