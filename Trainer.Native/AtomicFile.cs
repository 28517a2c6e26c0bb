namespace TrainManager.Runtime;

/// <summary>
/// Whole-file replacement that never leaves a half-written file behind: content goes to a temporary file in the
/// target's directory (same file system, so the rename is atomic), is flushed to disk, then renamed over the target.
/// A crash leaves either the old file or the new one, plus at worst a stray ".tmp" file.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, byte[] content, string? modeFrom = null) =>
        Write(path, stream => stream.Write(content), modeFrom);

    /// <param name="writeContent">Writes the whole content; the stream is flushed to disk and closed afterwards.</param>
    /// <param name="modeFrom">Copy Unix permission bits from this file (keeps an executable .so executable).</param>
    public static void Write(string path, Action<Stream> writeContent, string? modeFrom = null)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                writeContent(stream);
                stream.Flush(flushToDisk: true);
            }
            if (modeFrom is not null && !OperatingSystem.IsWindows())
                File.SetUnixFileMode(temp, File.GetUnixFileMode(modeFrom));
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
