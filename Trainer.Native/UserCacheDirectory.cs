namespace TrainManager.Runtime;

/// <summary>
/// The per-user cache root, <c>$XDG_CACHE_HOME/trainmanager</c> or <c>~/.cache/trainmanager</c>
/// (LocalApplicationData on Windows). Holds downloaded data sets and patched native libraries: things
/// that can be rebuilt, so losing them costs time, never results.
/// </summary>
public static class UserCacheDirectory
{
    public static string Root
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
                return Path.Combine(xdg, "trainmanager");
            if (OperatingSystem.IsWindows())
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "trainmanager", "cache");
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
                home = Path.GetTempPath();
            return Path.Combine(home, ".cache", "trainmanager");
        }
    }

    /// <summary>A sub-folder of <see cref="Root"/>; not created.</summary>
    public static string For(params string[] parts) => Path.Combine([Root, .. parts]);
}
