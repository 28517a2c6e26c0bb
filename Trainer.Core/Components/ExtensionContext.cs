using TrainManager.Experiments;

namespace TrainManager.Components;

/// <summary>What an extension may ask for besides its own settings: where the run writes and what it runs.</summary>
/// <param name="RunDirectory">The run's directory (<c>runs/&lt;run-id&gt;/</c>), or null when nothing is recorded (e.g. <c>eval</c>).</param>
public sealed record ExtensionContext(string? RunDirectory, Experiment Experiment)
{
    /// <summary>The run directory, for extensions that write files; fails clearly when there is none.</summary>
    public string RequireRunDirectory(string extension) => RunDirectory
        ?? throw new InvalidOperationException(
            $"Extension '{extension}' writes into the run directory, but this trainer has none; create one with RunDirectory.Create(experiment).");
}
