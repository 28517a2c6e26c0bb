namespace TrainManager.Tests.Cli;

internal static class CliPaths
{
    /// <summary>The one-epoch MLP experiment on the committed Fashion-MNIST slice (copied next to the tests).</summary>
    public static string SliceExperiment => Path.Combine(AppContext.BaseDirectory, "TestData", "experiments", "mlp-slice.hocon");

    public static string TempDirectory() => TestDirectory.Create("cli");

    public static string WriteExperiment(string folder, string text, string name = "exp.hocon")
    {
        var file = Path.Combine(folder, name);
        File.WriteAllText(file, text);
        return file;
    }
}
