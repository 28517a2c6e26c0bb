using TrainManager.Protocol.Configuration;

namespace TrainManager.Protocol.Security;

/// <summary>Credentials on disk: a new file, readable and writable by its owner only, never written over.</summary>
static class PrivateFile
{
    /// <summary>Creates <paramref name="path"/> (and its folder) with <paramref name="bytes"/>, mode 600.</summary>
    /// <param name="whenExists">What the user reads when the file is already there: why it is kept.</param>
    /// <exception cref="ClusterConfigurationException">The file exists.</exception>
    public static void CreateNew(string path, byte[] bytes, string whenExists)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(full, options);
            stream.Write(bytes);
        }
        catch (IOException) when (File.Exists(full))
        {
            throw new ClusterConfigurationException($"{full} already exists; {whenExists}");
        }
    }
}
