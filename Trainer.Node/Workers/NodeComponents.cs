using TrainManager.Components;

namespace TrainManager.Node.Workers;

/// <summary>
/// What a member builds runs from: the component catalog its entry point made (the built-ins and any loaded training
/// project), and the services a run's components get, such as the console a progress bar writes to: on a node, the
/// node's log with the run id; in the embedded <c>train</c>, the user's terminal.
/// </summary>
/// <param name="Project">The build of the training project the catalog loaded, if any: each run keeps a copy in its
/// <c>code/bin</c>, so <c>eval</c> and <c>reproduce</c> load exactly the code it trained with.</param>
public sealed record NodeComponents(ComponentCatalog Catalog, Func<string, ComponentServices> ServicesForRun, ProjectBuild? Project = null);
