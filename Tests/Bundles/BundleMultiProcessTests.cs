using System.Text.RegularExpressions;
using TrainManager.Cli;
using TrainManager.Cli.Client;
using TrainManager.Protocol;
using TrainManager.Tests.Cli;
using TrainManager.Tests.Cluster;
using Xunit.Abstractions;

namespace TrainManager.Tests.Bundles;

/// <summary>
/// A user's own training project on a cluster as it is deployed: a coordinator and two worker node processes that never
/// had the project, a PostgreSQL journal, a project made from the template during the test and submitted with
/// <c>trainmanager submit</c> and <c>workers = 2</c>. One node is killed with SIGKILL mid-run; the run waits for a
/// replacement node, which fetches the bundle (the survivor has it cached), and finishes.
/// </summary>
[Collection(NodeProcessCollection.Name)]
public sealed class BundleMultiProcessTests(PostgresJournalTests.Server server, ITestOutputHelper output) : NodeProcessTests(server)
{
    static readonly TimeSpan Long = TimeSpan.FromSeconds(120);

    [PostgresFact]
    public async Task A_template_project_submitted_with_two_workers_survives_a_node_killed_mid_run_and_the_replacement_node_fetches_its_bundle()
    {
        var (packages, version) = TrainingProjectTemplateTests.PackTheFramework(Root);
        var project = Path.Combine(Root, "ShapesOnCluster");
        var created = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["new", project, "--packages", packages, "--framework-version", version], created.Console));

        var journal = Server.Postgres.CreateDatabase();
        var config = Path.Combine(Root, "cluster.hocon");
        File.WriteAllText(config, """
            trainmanager.scheduler.regroup-timeout = 5 s
            trainmanager.worker.progress-interval = 200 ms
            """);
        var ports = NodeProcess.FreePorts(4);
        var seeds = $"127.0.0.1:{ports[0]}";
        NodeProcess Start(string name, int port, string roles) => StartNode(name, port, seeds, roles, journal, config);
        var coordinator = Start("coordinator", ports[0], "coordinator");
        await coordinator.JoinedAsync(Long);
        var workers = new[] { Start("worker-1", ports[1], "worker"), Start("worker-2", ports[2], "worker") };
        foreach (var worker in workers)
            await worker.JoinedAsync(Long);

        // Joined before the submit: a CLI member that has just left can hold back the next join until it is removed.
        using var session = await ClusterSession.JoinAsync(null, [seeds], Long);
        var submit = new RecordingConsole();
        var exit = TrainManagerApp.Run(["submit", Path.Combine(project, "experiment.hocon"), "--cluster", seeds,
            "--set", "workers=2", "--set", "threads=1", "--set", "epochs=4", "--set", "data.train=9600", "--set", "data.test=200",
            "--set", "data-parallel.min-workers=2", "--set", "data-parallel.replacement-wait=2 s", "--set", "checkpoint.every-epochs=1",
            "--set", "checkpoint.keep=0", "--set", "extensions:=[{ type = report }]"], submit.Console);
        Assert.True(exit == ExitCodes.Success, submit.Output + Logs());
        Assert.Contains("uploaded in", submit.Output);
        var runId = Regex.Match(submit.Output, @"Submitted run (\S+) to").Groups[1].Value;

        var watch = new MidRunWatch();
        var ended = session.FollowAsync(runId, watch);
        var placed = await Within(watch.Scheduled.Task, "the run to be placed");
        Assert.Equal(2, placed.Ranks.Select(r => r.Node).Distinct().Count());
        await Within(watch.MidEpochTwo.Task, "the run to reach the middle of epoch 2");
        foreach (var worker in workers)
            Assert.Contains("Fetched ShapesOnCluster.csproj bundle", worker.AllOutput);
        var victim = workers.Single(w => placed.Ranks[1].Node.EndsWith($":{w.Port}", StringComparison.Ordinal));
        var survivor = workers.Single(w => w != victim);
        victim.Kill();

        // Right after a crash a client still gets in (as WeaklyUp, once the dead node is found unreachable) and answers.
        var afterCrash = new RecordingConsole();
        var exitRuns = TrainManagerApp.Run(["runs", "--cluster", seeds, "--timeout", "60"], afterCrash.Console);
        Assert.True(exitRuns == ExitCodes.Success, afterCrash.Output + Logs());
        Assert.Contains(runId, afterCrash.Output);

        // The run waits for a second worker (min-workers = 2): a node that never had the project joins and fetches it.
        var replacement = Start("worker-3", ports[3], "worker");
        await replacement.JoinedAsync(Long);
        var end = await Within(ended, "the run to end");
        RunAssert.EndedAs(RunStatus.Finished, end, Logs());
        Assert.Equal(4, end.Outcome!.Epochs);

        var history = ((RunDetails)await session.AskAsync(new GetRun(runId))).History;
        var regrouped = history.OfType<ExperimentScheduled>().Last();
        Assert.Contains(regrouped.Ranks, r => r.Node.EndsWith($":{replacement.Port}", StringComparison.Ordinal));
        Assert.Contains(regrouped.Ranks, r => r.Node.EndsWith($":{survivor.Port}", StringComparison.Ordinal));
        Assert.Contains("Fetched ShapesOnCluster.csproj bundle", replacement.AllOutput);
        Assert.Single(Regex.Matches(survivor.AllOutput, "Fetched ShapesOnCluster.csproj bundle")); // its cache served the second attempt
        var submitted = history.OfType<ExperimentSubmitted>().Single();
        Assert.Equal("ShapesOnCluster.csproj", submitted.Bundle!.Project);
        Assert.True(File.Exists(Path.Combine(end.RunDirectory!, "code", "bin", "ShapesOnCluster.dll")), "the run keeps the build it trained with");
        output.WriteLine($"run {runId}: {submitted.Bundle}, {submitted.Bundle.Size / 1024.0:0} KiB; finished with {end.Outcome.TestAccuracy:P1}");

        // Which bundle the run used, wherever a person looks: logs, status and the run's report. (Each CLI joins while
        // the one before may still be leaving; the longer timeout lets it in as WeaklyUp once that member is unreachable.)
        var logs = new RecordingConsole();
        var exitLogs = TrainManagerApp.Run(["logs", runId, "--cluster", seeds, "--timeout", "60"], logs.Console);
        Assert.True(exitLogs == ExitCodes.Success, logs.Output);
        Assert.Contains($"trains with ShapesOnCluster.csproj bundle {submitted.Bundle.ShortHash}", logs.Output);
        var status = new RecordingConsole();
        var exitStatus = TrainManagerApp.Run(["status", runId, "--cluster", seeds, "--timeout", "60"], status.Console);
        Assert.True(exitStatus == ExitCodes.Success, status.Output);
        Assert.Contains($"ShapesOnCluster.csproj bundle {submitted.Bundle.Hash}", status.Output);
        var report = File.ReadAllText(Path.Combine(end.RunDirectory!, "report.html"));
        Assert.Contains($">{submitted.Bundle.ShortHash}</code>", report);
        Assert.Equal(submitted.Bundle.Hash, TrainManager.Training.RecordedBundle.Read(end.RunDirectory!)!.Hash);

        // The node's copy of the build is the bundle, and the project folder (given as a checkout) rebuilds to it.
        var reproduce = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["reproduce", end.RunDirectory!, "--project", project], reproduce.Console));
        Assert.Contains("is that bundle: hash verified", reproduce.Output);
        Assert.Contains($"bundle {submitted.Bundle.Hash}, the same as the run's", reproduce.Output);

        // The same build submitted again is not sent again.
        var again = new RecordingConsole();
        Assert.Equal(ExitCodes.Success, TrainManagerApp.Run(["submit", Path.Combine(project, "experiment.hocon"), "--cluster", seeds, "--timeout", "60",
            "--set", "epochs=1", "--set", "data.train=64", "--set", "data.test=64", "--set", "extensions:=[]"], again.Console));
        Assert.Contains("the cluster already holds it", again.Output);
    }

    Task<T> Within<T>(Task<T> task, string what) => Within(task, Long * 2, what);

    Task Within(Task task, string what) => Within(task, Long * 2, what);
}
