using Spectre.Console;
using TrainManager.Components;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Stages;

namespace TrainManager.Bench;

/// <summary>The benchmarks' composition root: the component catalog they build runs from, and their extensions by name.</summary>
internal static class BenchExtensions
{
    /// <summary>Built once for the benchmark process, as the CLI and the node build theirs.</summary>
    public static ComponentCatalog Catalog { get; } = BuiltInComponents.Catalog();

    /// <summary>Progress writes to a console that discards output: the benchmark measures the extension, not the terminal.</summary>
    public static ComponentServices Quiet { get; } = ComponentServices.Empty.With<IAnsiConsole>(
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) }));

    public static IReadOnlyList<Extension> Create(IEnumerable<string> names, Experiment experiment, string? runDirectory = null)
    {
        var context = new ExtensionContext(runDirectory, experiment);
        return names.Select(n => Catalog.CreateExtension(new ExtensionSection(n, new Dictionary<string, object?>()), context, Quiet)).ToList();
    }
}
