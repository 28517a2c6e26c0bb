namespace TrainManager.Runtime;

/// <summary>The state of one version requirement in one library, before or after patching.</summary>
public enum WeakVersionState
{
    /// <summary>The library does not require the version at all (another TorchSharp build): nothing to do.</summary>
    NotRequired,
    /// <summary>The requirement is already weak (patched earlier): nothing to do.</summary>
    AlreadyWeak,
    /// <summary>The requirement is strong; the loader refuses the library where the version is missing.</summary>
    Strong,
}

/// <summary>
/// Turns one symbol-version requirement of a shared object into a weak one (sets VER_FLG_WEAK in its Vernaux
/// record). glibc's loader then only warns, instead of refusing to load, when the dependency lacks that version.
/// This is safe only when no symbol bound to the version is ever resolved, so the patch refuses to run when any
/// symbol other than the known-unused ones is bound to it.
/// </summary>
public sealed class WeakVersionPatch(string dependency, string version, IReadOnlySet<string> unusedSymbols)
{
    /// <summary>
    /// TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13's libstdc++, which adds
    /// GLIBCXX_3.4.32 for <c>std::ios_base_library_init()</c>: an undefined symbol with no relocation against it,
    /// i.e. never called. Debian 12 / Ubuntu 22.04 ship libstdc++ up to GLIBCXX_3.4.30.
    /// </summary>
    public static WeakVersionPatch LibTorchSharpGlibcxx { get; } = new("libstdc++.so.6", "GLIBCXX_3.4.32", new HashSet<string>(StringComparer.Ordinal) { "_ZSt21ios_base_library_initv" });

    public string Dependency { get; } = dependency;
    public string Version { get; } = version;

    public WeakVersionState Inspect(ElfImage image) => Find(image) switch
    {
        null => WeakVersionState.NotRequired,
        { IsWeak: true } => WeakVersionState.AlreadyWeak,
        _ => WeakVersionState.Strong,
    };

    /// <summary>Makes the requirement weak in <paramref name="image"/>'s bytes. Idempotent.</summary>
    /// <returns>The state before the call: <see cref="WeakVersionState.Strong"/> means the bytes changed.</returns>
    /// <exception cref="InvalidOperationException">A symbol that may really be called is bound to the version.</exception>
    public WeakVersionState Apply(ElfImage image, string source)
    {
        var requirement = Find(image);
        if (requirement is null)
            return WeakVersionState.NotRequired;
        if (requirement.IsWeak)
            return WeakVersionState.AlreadyWeak;

        var bound = image.SymbolsBoundToVersion(requirement.Index);
        var unexpected = bound.Where(s => !unusedSymbols.Contains(s)).ToList();
        if (unexpected.Count > 0)
            throw new InvalidOperationException(
                $"{source} needs {Version} from {Dependency} for symbols that may be called ({string.Join(", ", unexpected.Take(5))}), " +
                $"so it cannot be patched safely. Install a libstdc++ that provides {Version} (GCC 13 or newer runtime, " +
                "e.g. Debian 13 / Ubuntu 24.04), or use a TorchSharp build linked against an older libstdc++.");
        image.MarkWeak(requirement);
        return WeakVersionState.Strong;
    }

    /// <summary>
    /// Reads <paramref name="source"/>, and when its requirement is strong writes the patched bytes to
    /// <paramref name="destination"/> atomically (temporary file in the same directory, then rename), so a
    /// concurrent process sees either the old or the new file, never a half-written one.
    /// </summary>
    /// <returns>The state of <paramref name="source"/> before patching.</returns>
    public WeakVersionState PatchFile(string source, string destination)
    {
        var image = ElfImage.Read(source);
        var state = Apply(image, source);
        if (state == WeakVersionState.Strong || !PathsEqual(source, destination))
            AtomicFile.Write(destination, image.Bytes, modeFrom: source);
        return state;
    }

    ElfVersionRequirement? Find(ElfImage image) =>
        image.VersionRequirements().FirstOrDefault(r => r.File == Dependency && r.Version == Version);

    static bool PathsEqual(string a, string b) => string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);
}
