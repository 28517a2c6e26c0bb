namespace TrainManager.Tests;

/// <summary>A fresh, empty directory under the system temp folder for one test: the one place tests make them.</summary>
internal static class TestDirectory
{
    public static string Create(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"tm-{prefix}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
