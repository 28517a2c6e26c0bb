using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Extensions.Provenance;

namespace TrainManager.Coordinator.Cli;

/// <summary><c>trainmanager reproduce RUN DIR</c>: recreates the code a run was trained with, commit plus every
/// uncommitted change, in DIR, and verifies that the git tree id matches the recorded one.</summary>
[Description("Recreate in DIR the exact code a run was trained with, and verify its git tree id.")]
public sealed class ReproduceCommand(IAnsiConsole console) : TrainManagerCommand<ReproduceCommand.Settings>(console)
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<RUN>")]
        [Description("The run directory (runs/<run-id>) that was trained with the provenance extension.")]
        public string Run { get; set; } = "";

        [CommandArgument(1, "<DIR>")]
        [Description("An empty or new directory to recreate the code in.")]
        public string Directory { get; set; } = "";
    }

    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var provenance = Path.Combine(settings.Run, "provenance");
        if (!System.IO.Directory.Exists(provenance))
            throw new CommandInputException(
                $"'{settings.Run}' has no provenance/ folder: the run was not trained with the provenance extension. " +
                "Add { type = provenance } to the experiment's extensions to record the code of future runs.");
        ReproducedCode code;
        try
        {
            code = ProvenanceReproducer.Reproduce(provenance, settings.Directory);
        }
        catch (ProvenanceReproductionException e)
        {
            throw new CommandInputException(e.Message, e);
        }
        Console.MarkupLineInterpolated($"[green]Recreated the code of {Path.GetFileName(Path.GetFullPath(settings.Run))} in {code.TargetDirectory}[/]");
        Console.MarkupLineInterpolated($"commit {code.CommitSha ?? "(none)"} from {code.Source ?? "(unknown)"}, tree {code.TreeId} (verified)");
        return ExitCodes.Success;
    }
}
