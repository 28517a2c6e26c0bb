using System.ComponentModel;
using System.Reflection;
using System.Text.RegularExpressions;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Components;

namespace TrainManager.Cli;

/// <summary><c>trainmanager new DIR [--name NAME] [--packages DIR]</c>: a training project of one's own, ready to train.</summary>
[Description("Create a training project of your own: a model, a data source and an extension, an experiment and a test.")]
public sealed partial class NewCommand(IAnsiConsole console) : TrainManagerCommand<NewCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<DIR>")]
        [Description("The folder to create (it must not exist, or be empty).")]
        public string Directory { get; set; } = "";

        [CommandOption("--name <NAME>")]
        [Description("The project's name, a C# identifier (default: the folder's name), e.g. MyModels.")]
        public string? Name { get; set; }

        [CommandOption("--packages <DIR>")]
        [Description("Where Train Manager's packages are (`dotnet pack TrainManager.sln` writes them to artifacts/packages). Default: the artifacts/packages of the checkout this trainmanager was built in.")]
        public string? Packages { get; set; }

        [CommandOption("--framework-version <VERSION>")]
        [Description("The version of Train Manager's packages the project references. Default: this trainmanager's own.")]
        public string? FrameworkVersion { get; set; }
    }

    const string TemplatePrefix = "ProjectTemplate/";

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(settings.Directory);
        var name = settings.Name ?? Path.GetFileName(target.TrimEnd(Path.DirectorySeparatorChar));
        if (!Identifier().IsMatch(name))
            throw new CommandInputException($"'{name}' cannot name a project: use letters, digits and '_', starting with a letter (e.g. --name MyModels).");
        if (System.IO.Directory.Exists(target) && System.IO.Directory.EnumerateFileSystemEntries(target).Any())
            throw new CommandInputException($"{target} is not empty; name a new folder, so nothing of yours is overwritten.");
        var version = settings.FrameworkVersion ?? FrameworkVersion();
        var packages = PackageFolder(settings.Packages, version);

        var assembly = typeof(NewCommand).Assembly;
        var written = new List<string>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(TemplatePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var relative = resource[TemplatePrefix.Length..].Replace("__Name__", name, StringComparison.Ordinal);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            var text = new StreamReader(stream).ReadToEnd()
                .Replace("__Name__", name, StringComparison.Ordinal)
                .Replace("__name__", KebabCase(name), StringComparison.Ordinal)
                .Replace("__Version__", version, StringComparison.Ordinal)
                .Replace("__Packages__", packages, StringComparison.Ordinal);
            var path = Path.Combine(target, relative);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
            written.Add(relative);
        }
        Console.MarkupLineInterpolated($"[green]Created {name} in {target}[/]");
        foreach (var file in written) Console.MarkupLineInterpolated($"  {file}");
        Console.WriteLine();
        Console.MarkupLineInterpolated($"Train it:  cd {target} && trainmanager train experiment.hocon");
        Console.MarkupLineInterpolated($"Test it:   cd {target} && dotnet test {name}.Tests");
        return ExitCodes.Success;
    }

    /// <summary>The framework's version, without its build metadata: the packages the project references.</summary>
    public static string FrameworkVersion()
    {
        var informational = typeof(ComponentCatalog).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(ComponentCatalog).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        return informational.Split('+')[0];
    }

    /// <summary>The folder holding TrainManager.Core.<paramref name="version"/>.nupkg: the one given, or the checkout's artifacts/packages.</summary>
    static string PackageFolder(string? given, string version)
    {
        var package = $"TrainManager.Core.{version}.nupkg";
        if (given is not null)
        {
            var full = Path.GetFullPath(given);
            return File.Exists(Path.Combine(full, package))
                ? full
                : throw new CommandInputException($"{full} holds no {package}; run `dotnet pack TrainManager.sln` in Train Manager's checkout and name its artifacts/packages.");
        }
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "artifacts", "packages");
            if (File.Exists(Path.Combine(candidate, package)))
                return candidate;
        }
        throw new CommandInputException(
            $"Train Manager's packages ({package}) are not in an artifacts/packages folder beside this trainmanager ({AppContext.BaseDirectory}) or above it: " +
            "name the folder that holds them with --packages DIR (`dotnet pack TrainManager.sln` in Train Manager's checkout writes them to its artifacts/packages).");
    }

    static string KebabCase(string name) => string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString())).Replace('_', '-');

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();
}
