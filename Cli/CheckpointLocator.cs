using TrainManager.Checkpoints;
using TrainManager.Training;

namespace TrainManager.Cli;

/// <summary>Turns what a person types (a run directory or a checkpoint file) into a run and a checkpoint.</summary>
public static class CheckpointLocator
{
    /// <summary>
    /// For <c>--resume</c>: a checkpoint file as is, or a run directory's newest checkpoint.
    /// </summary>
    /// <exception cref="CommandInputException">Nothing usable at <paramref name="path"/>.</exception>
    public static string ForResume(string path)
    {
        if (File.Exists(path))
            return Path.GetFullPath(path);
        if (Directory.Exists(path))
            return Latest(OpenRun(path), path);
        throw new CommandInputException(
            $"checkpoint '{path}' not found (looked for {Path.GetFullPath(path)}). Pass a {CheckpointStore.Extension} file from runs/<run-id>/checkpoints/, or the run directory to resume from its newest checkpoint.");
    }

    /// <summary>
    /// For <c>eval</c>: a run directory (its best checkpoint when it recorded one, its newest otherwise) or a checkpoint
    /// inside a run directory (<c>runs/&lt;run-id&gt;/checkpoints/x.ckpt</c>), whose <c>experiment.hocon</c> says how to
    /// rebuild the model. <c>Why</c> says which was taken, for the person reading the output.
    /// </summary>
    /// <exception cref="CommandInputException">Not a run directory, no checkpoint, or a checkpoint outside any run.</exception>
    public static (RunDirectory Run, string Checkpoint, string Why) ForEvaluation(string path)
    {
        if (Directory.Exists(path))
        {
            var run = OpenRun(path);
            if (BestCheckpoint.Read(Path.Combine(run.Path, "checkpoints")) is { } best)
                return (run, best.PathIn(Path.Combine(run.Path, "checkpoints")),
                    $"the best by {best.Metric} ({best.Mode} {best.Value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}, epoch {best.Epoch})");
            return (run, Latest(run, path), "the newest (the run recorded no best checkpoint)");
        }
        if (File.Exists(path))
        {
            var checkpoint = Path.GetFullPath(path);
            var folder = Path.GetDirectoryName(checkpoint)!;
            var runPath = Path.GetDirectoryName(folder);
            if (Path.GetFileName(folder) != "checkpoints" || runPath is null || !File.Exists(Path.Combine(runPath, "experiment.hocon")))
                throw new CommandInputException(
                    $"'{path}' is not inside a run directory (runs/<run-id>/checkpoints/), so its experiment is unknown. Pass the run directory, or a checkpoint inside one.");
            return (OpenRun(runPath), checkpoint, "the one given");
        }
        throw new CommandInputException(
            $"'{path}' not found (looked for {Path.GetFullPath(path)}). Pass a run directory (runs/<run-id>) or a checkpoint file in its checkpoints/ folder.");
    }

    static RunDirectory OpenRun(string path)
    {
        try
        {
            return RunDirectory.Open(path);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new CommandInputException(e.Message, e);
        }
    }

    static string Latest(RunDirectory run, string typed)
    {
        // Look without RunDirectory.CheckpointDirectory: that creates the folder, and reading must not change a run.
        var folder = Path.Combine(run.Path, "checkpoints");
        return new CheckpointStore(folder).Latest()
            ?? throw new CommandInputException(
                $"run '{typed}' has no checkpoints yet (nothing in {folder}); it may have failed before its first epoch ended.");
    }
}
