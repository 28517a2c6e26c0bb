using System.Reflection;
using System.Text.RegularExpressions;

namespace TrainManager.Tests.Architecture;

/// <summary>
/// The floor plan, held: which project may reference which. The picture in the README's architecture section is this
/// table; a reference that crosses it (the coordinator reaching into the node, the protocol into either, the stage
/// engine into Akka or TorchSharp) fails here, not in a review.
/// </summary>
public sealed class ProjectLayoutTests
{
    static readonly string Root = FindRepositoryRoot();

    public static TheoryData<string, string[]> AllowedReferences => new()
    {
        { "Trainer.Stages/Trainer.Stages.csproj", [] },
        { "Trainer.Native/Trainer.Native.csproj", [] },
        { "Trainer.Core/Trainer.Core.csproj", ["Trainer.Stages", "Trainer.Native"] },
        { "Extensions/Extensions.csproj", ["Trainer.Core"] },
        { "Trainer.TestKit/Trainer.TestKit.csproj", ["Trainer.Core"] },
        { "Protocol/Protocol.csproj", ["Trainer.Core"] },
        { "Coordinator/Coordinator.csproj", ["Protocol", "Trainer.Core", "Extensions"] },
        { "Trainer.Node/Trainer.Node.csproj", ["Protocol", "Coordinator", "Trainer.Core", "Extensions"] },
        { "Cli/Cli.csproj", ["Trainer.Core", "Extensions", "Protocol", "Coordinator", "Trainer.Node"] },
    };

    [Theory]
    [MemberData(nameof(AllowedReferences))]
    public void A_project_references_only_the_projects_beneath_it(string project, string[] allowed)
    {
        var referenced = ProjectReferences(project);

        var crossing = referenced.Except(allowed).ToList();
        Assert.True(crossing.Count == 0, $"{project} references {string.Join(", ", crossing)}, which the layout does not allow (allowed: {string.Join(", ", allowed)}).");
    }

    [Fact]
    public void Every_project_of_the_solution_is_in_the_layout()
    {
        var solution = File.ReadAllText(Path.Combine(Root, "TrainManager.sln"));
        var projects = Regex.Matches(solution, "\"([^\"]+\\.csproj)\"").Select(m => m.Groups[1].Value.Replace('\\', '/')).ToList();
        var known = AllowedReferences.Select(row => (string)row[0]).ToHashSet();

        var unplaced = projects.Where(p => !known.Contains(p) && !p.StartsWith("Tests/") && !p.StartsWith("bench/") && !p.StartsWith("examples/")).ToList();
        Assert.True(unplaced.Count == 0, $"{string.Join(", ", unplaced)} is in the solution but not in the layout table here (nor in the README's picture).");
    }

    [Theory]
    [InlineData("Akka")]
    [InlineData("TorchSharp")]
    public void The_stage_engine_knows_neither_actors_nor_tensors(string library)
    {
        var engine = typeof(TrainManager.Stages.Extensible).Assembly;

        var references = engine.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(references, name => name.StartsWith(library, StringComparison.Ordinal));
        Assert.DoesNotMatch($"<PackageReference Include=\"{library}", File.ReadAllText(Path.Combine(Root, "Trainer.Stages", "Trainer.Stages.csproj")));
    }

    [Fact]
    public void The_protocol_does_not_reach_into_the_roles_that_speak_it()
    {
        var protocol = typeof(TrainManager.Protocol.IClusterMessage).Assembly;

        var references = protocol.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain("TrainManager.Coordinator", references);
        Assert.DoesNotContain("trainmanager-node", references);
        Assert.DoesNotContain("trainmanager", references);
    }

    static List<string> ProjectReferences(string project)
    {
        var text = File.ReadAllText(Path.Combine(Root, project));
        return Regex.Matches(text, "<ProjectReference Include=\"([^\"]+)\"")
            .Select(m => Path.GetFileNameWithoutExtension(m.Groups[1].Value.Replace('\\', '/')))
            .ToList();
    }

    static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "TrainManager.sln")))
                return directory.FullName;
        throw new InvalidOperationException("The tests run outside the repository: TrainManager.sln was not found above " + AppContext.BaseDirectory);
    }
}
