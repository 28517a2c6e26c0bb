namespace TrainManager.Tests.Experiments;

/// <summary>Experiment texts for tests, built line by line so a test can say which line a key is on.</summary>
internal static class ExperimentText
{
    public static string Lines(params string[] lines) => string.Join("\n", lines) + "\n";

    /// <summary>The smallest valid experiment: the four required entries, one per line (lines 1-4).</summary>
    public static readonly string[] Minimal =
    [
        "epochs = 2",
        "batch-size = 32",
        "model { type = mlp }",
        "data { dataset = fashion-mnist }",
    ];

    public static string MinimalWith(params string[] more) => Lines([.. Minimal, .. more]);

    /// <summary>The repository root (the folder with TrainManager.sln), for the committed example files.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "TrainManager.sln")))
                    return dir.FullName;
            throw new DirectoryNotFoundException($"No TrainManager.sln above {AppContext.BaseDirectory}.");
        }
    }

    public static string TempDirectory() => TestDirectory.Create("experiments");
}
