using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using McMaster.NETCore.Plugins;
using TrainManager.Experiments;

namespace TrainManager.Components;

/// <summary>
/// A user's training project: a class library that references the framework and declares components with
/// <see cref="ComponentAttribute"/>. <see cref="Build"/> compiles it with the .NET SDK; <see cref="ProjectBuild.Load"/>
/// loads the result into a load context of its own.
/// </summary>
public static class TrainingProject
{
    /// <summary>The project file <paramref name="path"/> names: a .csproj, or a folder holding exactly one.</summary>
    /// <exception cref="ProjectBuildException">There is none, or more than one.</exception>
    public static string FindProjectFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full))
            return full.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase)
                ? full
                : throw new ProjectBuildException($"code.project names {full}, which is not a .csproj file; name the project's folder or its .csproj.");
        if (!Directory.Exists(full))
            throw new ProjectBuildException($"code.project names {full}, which does not exist; name your training project's folder (relative to the experiment file) or its .csproj.");
        var projects = Directory.GetFiles(full, "*.csproj");
        return projects.Length switch
        {
            1 => projects[0],
            0 => throw new ProjectBuildException($"code.project names {full}, which holds no .csproj; create one with `trainmanager new DIR` or name the project file."),
            _ => throw new ProjectBuildException($"code.project names {full}, which holds {projects.Length} projects ({string.Join(", ", projects.Select(Path.GetFileName))}); name the one to build, e.g. code {{ project = \"{Path.GetFileName(full)}/{Path.GetFileName(projects[0])}\" }}."),
        };
    }

    /// <summary>
    /// Builds <paramref name="project"/> (Release) with the .NET SDK and returns where its assemblies are. An up-to-date
    /// project builds in a second or two: the SDK's incremental build does the caching.
    /// </summary>
    /// <exception cref="ProjectBuildException">The build failed; the message holds the compiler's errors as it wrote them.</exception>
    public static ProjectBuild Build(string project)
    {
        var projectFile = FindProjectFile(project);
        // ContinuousIntegrationBuild: source paths are recorded as /_/..., so the same commit gives the same bytes in any
        // clone of its repository with the same SDK, and a submitted bundle can be rebuilt to the same hash (reproduce).
        // Outside git the build still embeds the folder it was built in (its obj/ path): bytes differ from folder to folder.
        var targetPath = Run(projectFile, ["msbuild", projectFile, "-getProperty:TargetPath", "-p:Configuration=Release", "-p:ContinuousIntegrationBuild=true", "-nologo"]).Trim();
        if (targetPath.Length == 0 || targetPath.Contains('\n'))
            throw new ProjectBuildException($"{projectFile}: the SDK did not say where the project's assembly goes (TargetPath): {targetPath}");
        Run(projectFile, ["build", projectFile, "-c", "Release", "-p:ContinuousIntegrationBuild=true", "-nologo", "-v", "q", "-clp:NoSummary", "--disable-build-servers"]);
        if (!File.Exists(targetPath))
            throw new ProjectBuildException($"{projectFile} built, but its assembly {targetPath} is not there; is it a class library?");
        return new ProjectBuild(projectFile, Path.GetDirectoryName(targetPath)!, Path.GetFileName(targetPath));
    }

    static string Run(string projectFile, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(projectFile)!,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        // A build started from inside another .NET tool (a test host, an SDK command) must not inherit that tool's
        // MSBuild: it would resolve the wrong SDK or reuse the caller's build nodes.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start) ?? throw new ProjectBuildException("could not start `dotnet` to build the training project; is the .NET SDK installed and on PATH?");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode == 0) return output;
        var lines = (output + error.Result).Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        var errors = lines.Where(l => l.Contains(": error ", StringComparison.Ordinal)).Distinct().ToList();
        throw new ProjectBuildException(
            $"building {projectFile} failed:{Environment.NewLine}{string.Join(Environment.NewLine, errors.Count > 0 ? errors : lines.TakeLast(30))}");
    }
}

/// <summary>
/// A built training project: the folder holding its assembly and dependencies. <see cref="Load"/> loads it with its
/// own dependencies in a load context of its own, sharing the framework's and TorchSharp's types with the host, so a
/// model it declares is a TorchSharp module the trainer can use.
/// </summary>
public sealed record ProjectBuild(string ProjectFile, string OutputDirectory, string AssemblyFile)
{
    /// <summary>Written beside a copy of the build (<see cref="CopyTo"/>): which project, which assembly, which bytes.</summary>
    public const string DescriptionFile = "build.json";

    /// <summary>The assemblies the host shares with the project: anything the host has loaded resolves to the host's copy
    /// (McMaster's PreferSharedTypes), so these anchor the framework's, TorchSharp's, Akka's and the console's types.</summary>
    static readonly Type[] Shared = [typeof(ComponentCatalog), typeof(TorchSharp.torch), typeof(Akka.Actor.ActorSystem)];

    /// <summary>Loads the project's main assembly (its dependencies load on demand from its folder).</summary>
    /// <exception cref="ProjectBuildException">The assembly cannot be loaded.</exception>
    public IReadOnlyList<Assembly> Load()
    {
        var path = Path.Combine(OutputDirectory, AssemblyFile);
        try
        {
            var loader = PluginLoader.CreateFromAssemblyFile(path, Shared, config => config.PreferSharedTypes = true);
            return [loader.LoadDefaultAssembly()];
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new ProjectBuildException($"the training project's assembly {path} cannot be loaded: {e.Message}");
        }
    }

    /// <summary>
    /// Loads the project for one run in a collectible load context of its own (a node's run of a submitted bundle): two
    /// runs of different versions of one project load side by side, each sees its own types, and disposing the result
    /// unloads the context, so a long-lived node does not keep every version it ever ran.
    /// </summary>
    /// <exception cref="ProjectBuildException">The assembly cannot be loaded.</exception>
    public LoadedProject LoadForRun()
    {
        var path = Path.Combine(OutputDirectory, AssemblyFile);
        PluginLoader? loader = null;
        try
        {
            loader = PluginLoader.CreateFromAssemblyFile(path, Shared, config =>
            {
                config.PreferSharedTypes = true;
                config.IsUnloadable = true;
            });
            return new LoadedProject(loader, [loader.LoadDefaultAssembly()]);
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            loader?.Dispose();
            throw new ProjectBuildException($"the training project's assembly {path} cannot be loaded: {e.Message}");
        }
    }

    /// <summary>SHA-256 over the build's files (names and bytes), to tell builds apart.</summary>
    public string Fingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.GetFiles(OutputDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(OutputDirectory, file) + "\n"));
            hash.AppendData(File.ReadAllBytes(file));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Copies the build into <paramref name="directory"/> (a run's <c>code/bin</c>) and describes it there, so the
    /// run can be evaluated with exactly the code it trained with after the project has moved on.</summary>
    public ProjectBuild CopyTo(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.GetFiles(OutputDirectory, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(directory, Path.GetRelativePath(OutputDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
        var copy = this with { OutputDirectory = Path.GetFullPath(directory) };
        File.WriteAllText(Path.Combine(directory, DescriptionFile), JsonSerializer.Serialize(new BuildDescription(ProjectFile, AssemblyFile, copy.Fingerprint()),
            new JsonSerializerOptions { WriteIndented = true }));
        return copy;
    }

    /// <summary>A copy made by <see cref="CopyTo"/>, or null when <paramref name="directory"/> holds none.</summary>
    public static ProjectBuild? OpenCopy(string directory)
    {
        var description = Path.Combine(directory, DescriptionFile);
        if (!File.Exists(description)) return null;
        var read = JsonSerializer.Deserialize<BuildDescription>(File.ReadAllText(description))
            ?? throw new ProjectBuildException($"{description} is empty; the run's copy of its training project is damaged.");
        return new ProjectBuild(read.Project, Path.GetFullPath(directory), read.Assembly);
    }

    sealed record BuildDescription(string Project, string Assembly, string Sha256);
}

/// <summary>A training project loaded for one run (<see cref="ProjectBuild.LoadForRun"/>): disposing it unloads its load
/// context once nothing refers to its types any more (the run's model, data, extensions and trainer disposed and dropped).</summary>
public sealed class LoadedProject : IDisposable
{
    PluginLoader? _loader;

    internal LoadedProject(PluginLoader loader, IReadOnlyList<Assembly> assemblies)
    {
        _loader = loader;
        Assemblies = assemblies;
        Context = new WeakReference(loader.LoadContext);
    }

    public IReadOnlyList<Assembly> Assemblies { get; private set; }

    /// <summary>The load context, weakly: alive until the run's objects are gone and it is collected after <see cref="Dispose"/>.</summary>
    public WeakReference Context { get; }

    public void Dispose()
    {
        Assemblies = [];
        _loader?.Dispose();
        _loader = null;
    }
}

/// <summary>The training project could not be found, built or loaded: the message says why (the compiler's own errors for a build).</summary>
public sealed class ProjectBuildException(string message) : Exception(message), IBadInput;
