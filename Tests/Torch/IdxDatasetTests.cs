using System.IO.Compression;
using TorchSharp;
using TrainManager.Data;
using static TorchSharp.torch;

namespace TrainManager.Tests.Torch;

public sealed class IdxDatasetTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("tm-idx-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    static IdxDataset LoadSlice(string prefix) => IdxDataset.Load(
        TestPaths.SliceFile($"{prefix}-images-idx3-ubyte.gz"), TestPaths.SliceFile($"{prefix}-labels-idx1-ubyte.gz"),
        FashionMnist.Mean, FashionMnist.Std);

    [Fact]
    public void The_training_slice_holds_2000_single_channel_28x28_images_with_labels_0_to_9()
    {
        using var data = LoadSlice("train");

        Assert.Equal(2000, data.Count);
        Assert.Equal([2000L, 1, 28, 28], data.Inputs.shape);
        Assert.Equal(ScalarType.Float32, data.Inputs.dtype);
        Assert.Equal([2000L], data.Targets.shape);
        Assert.Equal(ScalarType.Int64, data.Targets.dtype);
        Assert.Equal((0L, 9L), (data.Targets.min().item<long>(), data.Targets.max().item<long>()));
    }

    [Fact]
    public void The_test_slice_holds_500_examples_of_every_class()
    {
        using var data = LoadSlice("t10k");

        using var counts = data.Targets.bincount(null);
        Assert.Equal(500, data.Count);
        Assert.Equal(10, counts.shape[0]);
        Assert.True(counts.min().item<long>() > 0);
    }

    [Fact]
    public void Pixels_are_scaled_to_unit_range_then_normalised_with_the_given_statistics()
    {
        using var data = LoadSlice("t10k");
        var raw = IdxFile.Read(TestPaths.SliceFile("t10k-images-idx3-ubyte.gz"));

        using var flat = data.Inputs.flatten();
        var expected = raw.Data.Take(784 * 3).Select(p => (float)((p / 255.0 - FashionMnist.Mean) / FashionMnist.Std)).ToArray();
        var actual = flat[TensorIndex.Slice(0, 784 * 3)].data<float>().ToArray();

        Assert.Equal(expected, actual, new FloatTolerance(1e-5f));
    }

    [Fact]
    public void Plain_and_gzip_files_read_identically()
    {
        var gz = TestPaths.SliceFile("t10k-labels-idx1-ubyte.gz");
        var plain = Path.Combine(_directory, "t10k-labels-idx1-ubyte");
        using (var input = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress))
        using (var output = File.Create(plain))
            input.CopyTo(output);

        var a = IdxFile.Read(gz);
        var b = IdxFile.Read(plain);

        Assert.Equal(a.Dimensions, b.Dimensions);
        Assert.Equal(a.Data, b.Data);
    }

    [Fact]
    public void A_truncated_file_is_rejected_with_its_name_and_what_to_do()
    {
        var path = Path.Combine(_directory, "short-idx1-ubyte");
        File.WriteAllBytes(path, [0, 0, 8, 1, 0, 0, 0, 10, 1, 2, 3]);

        var error = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_file_with_a_foreign_magic_number_is_rejected()
    {
        var path = Path.Combine(_directory, "image.png");
        File.WriteAllBytes(path, [0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]);

        var error = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));

        Assert.Contains("not an IDX file", error.Message);
    }

    [Fact]
    public void A_batch_gathers_the_requested_rows_in_the_requested_order()
    {
        using var data = LoadSlice("t10k");

        using var batch = data.GetBatch([7, 2, 7]);
        using var second = data.Get(2);

        Assert.Equal([3L, 1, 28, 28], batch.Input.shape);
        Assert.True(batch.Input[1].eq(second.Input).all().item<bool>());
        Assert.True(batch.Input[0].eq(batch.Input[2]).all().item<bool>());
        Assert.Equal(second.Target.item<long>(), batch.Target[1].item<long>());
    }

    [Fact]
    public void A_batch_index_outside_the_dataset_names_the_valid_range()
    {
        using var data = LoadSlice("t10k");

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => data.GetBatch([0, 500]));

        Assert.Contains("0..499", error.Message);
    }

    [Fact]
    public void A_user_dataset_that_only_implements_Get_still_batches()
    {
        IDataset squares = new SquaresDataset();

        using var batch = squares.GetBatch([3, 1]);

        Assert.Equal([9f, 1f], batch.Input.data<float>().ToArray());
        Assert.Equal([3L, 1L], batch.Target.data<long>().ToArray());
    }

    sealed class SquaresDataset : IDataset
    {
        public long Count => 10;
        public Sample Get(long index) => new(tensor((float)(index * index)), tensor(index));
    }

    sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
