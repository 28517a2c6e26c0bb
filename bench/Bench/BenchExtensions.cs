using Spectre.Console;
using TrainManager.Experiments;
using TrainManager.Extensions;
using TrainManager.Stages;

namespace TrainManager.Bench;

/// <summary>Builds the extensions a benchmark run turns on, by their experiment-file names.</summary>
internal static class BenchExtensions
{
    public static IReadOnlyList<Extension> Create(IEnumerable<string> names, Experiment experiment, string? runDirectory = null)
    {
        // Progress writes to a console that discards output: the benchmark measures the extension, not the terminal.
        var quiet = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
        var catalog = ExtensionCatalog.WithBuiltIns(quiet);
        var context = new ExtensionContext(runDirectory, experiment);
        return names.Select(n => catalog.Create(new ExtensionSection(n, new Dictionary<string, object?>()), context)).ToList();
    }
}
