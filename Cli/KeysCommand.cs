using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Experiments;

namespace TrainManager.Cli;

/// <summary><c>trainmanager keys</c>: the reference of every experiment key, as Markdown (docs/experiment-keys.md is its output).</summary>
[Description("Print every key an experiment file may hold: type, default and what it does (Markdown).")]
public sealed class KeysCommand(IAnsiConsole console) : TrainManagerCommand<KeysCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings;

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        // Past Spectre's wrapping and markup: the table's rows stay whole, so the output can be saved as the reference file.
        Console.Profile.Out.Writer.Write(ExperimentSchema.Markdown());
        return ExitCodes.Success;
    }
}
