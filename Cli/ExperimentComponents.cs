using Spectre.Console;
using TrainManager.Components;
using TrainManager.Experiments;
using TrainManager.Models;

namespace TrainManager.Cli;

/// <summary>An experiment, the catalog its components come from, and the build of its training project (if it names one).</summary>
public sealed record LoadedExperiment(Experiment Experiment, ComponentCatalog Catalog, ProjectBuild? Project)
{
    /// <summary>The experiment's model spec, checked against the catalog (unknown type or argument: bad input).</summary>
    public ModelSpec ResolveModel() => Catalog.Models.Resolve(new ModelSpec(Experiment.Model.Type, Experiment.Model.Arguments));
}

/// <summary>
/// How the CLI verbs read an experiment, checked against every component that exists: against the built-ins when it
/// names no training project; else its project (<c>code { project = ... }</c>) is built and loaded into the catalog
/// first, and the file is read again against that.
/// </summary>
public static class ExperimentComponents
{
    /// <exception cref="ExperimentException">The experiment is invalid.</exception>
    /// <exception cref="ProjectBuildException">Its project does not build; the message has the compiler's errors.</exception>
    public static LoadedExperiment Load(string file, IEnumerable<string> overrides, ComponentCatalog builtIns, IAnsiConsole console,
        string? recordedBuild = null)
    {
        var list = overrides.ToList();
        Experiment first;
        try
        {
            // Most experiments name no project of their own: then the built-ins are every component, and one parse is all.
            first = ExperimentLoader.Load(file, list, builtIns);
            if (first.Code is null)
                return new LoadedExperiment(first, builtIns, null);
        }
        catch (ExperimentException)
        {
            // Refused by the built-ins: a mistake in the file (reported as the schema finds it, before any build), or a
            // component its own project declares, which the parse below, against that project, finds.
            first = ExperimentLoader.Load(file, list);
            if (first.Code is null)
                throw;
        }
        var (catalog, project) = WithProject(first, builtIns, console, recordedBuild);
        var experiment = ExperimentLoader.Load(file, list, catalog);
        return new LoadedExperiment(experiment, catalog, project);
    }

    /// <summary>
    /// <paramref name="builtIns"/> plus the components of the experiment's training project: the copy of the build a
    /// run recorded (<paramref name="recordedBuild"/>, its <c>code/bin</c>) when there is one, else a fresh build.
    /// </summary>
    public static (ComponentCatalog Catalog, ProjectBuild? Project) WithProject(Experiment experiment, ComponentCatalog builtIns,
        IAnsiConsole console, string? recordedBuild = null)
    {
        if (experiment.Code is null) return (builtIns, null);
        ProjectBuild? build = recordedBuild is null ? null : ProjectBuild.OpenCopy(recordedBuild);
        if (build is not null)
            console.MarkupLineInterpolated($"[grey]training project: the build the run used ({recordedBuild})[/]");
        else
        {
            console.MarkupLineInterpolated($"[grey]building the training project {experiment.Code.Project}[/]");
            build = TrainingProject.Build(experiment.Code.Project);
        }
        ComponentCatalog catalog;
        try
        {
            catalog = builtIns.With(build.Load());
        }
        catch (ComponentDeclarationException e)
        {
            throw new ProjectBuildException($"the training project {build.ProjectFile} declares a component the framework cannot use: {e.Message}");
        }
        if (catalog.All.Count == builtIns.All.Count)
            console.MarkupLineInterpolated(
                $"[yellow]warning: the training project {build.ProjectFile} declares no components: mark your model, data source, task or extension classes with [[Component(\"name\")]].[/]");
        return (catalog, build);
    }
}
