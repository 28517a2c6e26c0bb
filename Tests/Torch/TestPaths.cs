namespace TrainManager.Tests.Torch;

static class TestPaths
{
    /// <summary>2000 train / 500 test Fashion-MNIST examples, see TestData/fashion-mnist-slice/make_slice.py.</summary>
    public static string FashionMnistSlice => Path.Combine(AppContext.BaseDirectory, "TestData", "fashion-mnist-slice");

    public static string SliceFile(string name) => Path.Combine(FashionMnistSlice, name);
}
