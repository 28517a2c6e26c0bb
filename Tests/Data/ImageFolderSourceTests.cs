using SkiaSharp;
using TrainManager.Data;
using TrainManager.Data.Sources.Images;

namespace TrainManager.Tests.Data;

public sealed class ImageFolderSourceTests
{
    readonly string _root = TestDirectory.Create("images");

    /// <summary>train/ and test/ with a red PNG cat and a blue JPEG dog each.</summary>
    void WriteTrainAndTest()
    {
        foreach (var split in new[] { "train", "test" })
        {
            DataFiles.Image(Path.Combine(_root, split, "cat", "1.png"), new SKColor(255, 0, 0));
            DataFiles.Image(Path.Combine(_root, split, "dog", "1.jpg"), new SKColor(0, 0, 255));
        }
    }

    [Fact]
    public void Png_and_jpeg_images_are_decoded_resized_and_normalised_per_channel_with_classes_in_sorted_order()
    {
        WriteTrainAndTest();
        var run = TestDirectory.Create("images-run");

        using var splits = new ImageFolderSource(new DataContext(_root, run), ".", size: [4, 4], channels: "rgb", mean: [0.5], std: [0.5]).Open();
        using var batch = splits.Train.GetBatch([0, 1]);

        Assert.Equal(new long[] { 2, 3, 4, 4 }, batch.Input.shape);
        Assert.Equal(new long[] { 0, 1 }, batch.Target.data<long>().ToArray());
        var pixels = batch.Input.data<float>().ToArray();
        // The cat is red: R = (1 - 0.5) / 0.5 = 1, B = -1. The dog (JPEG, lossy) is blue: close to R = -1, B = 1.
        Assert.All(pixels[..16], r => Assert.Equal(1f, r, 3));
        Assert.All(pixels[32..48], b => Assert.Equal(-1f, b, 3));
        Assert.All(pixels[48..64], r => Assert.InRange(r, -1f, -0.9f));
        Assert.All(pixels[80..96], b => Assert.InRange(b, 0.9f, 1f));
        Assert.Equal(2, splits.Test.Count);
        Assert.Contains("\"cat\"", File.ReadAllText(Path.Combine(run, "labels.json")));
    }

    [Fact]
    public void Grey_images_have_one_channel_of_luminance()
    {
        WriteTrainAndTest();

        using var splits = new ImageFolderSource(new DataContext(_root), "train", testPath: "test", size: [2], channels: "grey").Open();
        using var batch = splits.Train.GetBatch([0]);

        Assert.Equal(new long[] { 1, 1, 2, 2 }, batch.Input.shape);
        Assert.All(batch.Input.data<float>().ToArray(), v => Assert.Equal(0.299f, v, 2));
    }

    [Fact]
    public void A_folder_without_a_test_split_is_split_by_test_fraction()
    {
        for (var i = 0; i < 10; i++) DataFiles.Image(Path.Combine(_root, i % 2 == 0 ? "a" : "b", $"{i}.png"), SKColors.White, size: 2);

        using var splits = new ImageFolderSource(new DataContext(_root, Seed: 1), ".", testFraction: 0.3, size: [2]).Open();

        Assert.Equal(7, splits.Train.Count);
        Assert.Equal(3, splits.Test.Count);
    }

    [Fact]
    public void A_corrupt_image_is_reported_with_its_file()
    {
        WriteTrainAndTest();
        var broken = Path.Combine(_root, "train", "cat", "2.png");
        File.WriteAllBytes(broken, "\x89PNG not really"u8.ToArray());

        using var splits = new ImageFolderSource(new DataContext(_root), ".", size: [4]).Open();
        var index = ((ImageFolderDataset)splits.Train).Images.ToList().FindIndex(i => i.File == broken);
        var error = Assert.Throws<DatasetInvalidException>(() => splits.Train.GetBatch([index]));

        Assert.StartsWith(broken, error.Message);
    }

    [Fact]
    public void Test_classes_that_training_lacks_are_refused()
    {
        WriteTrainAndTest();
        DataFiles.Image(Path.Combine(_root, "test", "bird", "1.png"), SKColors.White);

        var error = Assert.Throws<DatasetInvalidException>(() => new ImageFolderSource(new DataContext(_root), ".").Open());

        Assert.Contains("bird", error.Message);
    }
}
