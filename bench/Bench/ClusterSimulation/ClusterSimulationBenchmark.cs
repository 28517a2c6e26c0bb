using System.Globalization;
using TrainManager.Coordinator.Scheduling.Simulation;
using TrainManager.Extensions;

namespace TrainManager.Bench.ClusterSimulation;

/// <summary>
/// The coordinator at cluster scale, on paper: a real coordinator with simulated nodes whose slots train nothing.
/// (a) A queue far longer than the cluster: the placement function alone, then end to end through the coordinator.
/// (b) A node lost while runs are going: how long until every run that had a rank there is placed again.
/// Each scenario is a class of its own (<see cref="PlacementAloneScenario"/>, <see cref="QueueScenario"/>,
/// <see cref="NodeLossScenario"/>); a coordinator restart fits beside them.
/// <code>dotnet run -c Release --project bench/Bench -- cluster-sim [--nodes 1000] [--slots 8] [--experiments 10000] [--runs 500] [--max-workers 16] [--seed 1] [--run-ms 0] [--skip-end-to-end]</code>
/// <c>--run-ms</c>: how long each run of the end-to-end queue trains (0: it finishes at once, which keeps the coordinator
/// saturated, so its latencies include the wait in its mailbox).
/// </summary>
public static class ClusterSimulationBenchmark
{
    sealed record Options(int Nodes, int Slots, int Experiments, int Runs, int MaxWorkers, int Seed, bool SkipEndToEnd, int RunMilliseconds);

    public static int Run(string[] args)
    {
        Options options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"cluster-sim: {e.Message}");
            return 2;
        }
        var random = new Random(options.Seed);
        var queue = Enumerable.Range(0, options.Experiments).Select(_ => random.Next(1, options.MaxWorkers + 1)).ToList();
        var runs = Enumerable.Range(0, options.Runs).Select(_ => random.Next(1, options.MaxWorkers + 1)).ToList();
        if (runs.Sum() > (options.Nodes - 1) * options.Slots)
        {
            Console.Error.WriteLine($"cluster-sim: {options.Runs} runs of 1-{options.MaxWorkers} workers take {runs.Sum()} slots, more than the " +
                                    $"{(options.Nodes - 1) * options.Slots} left once a node is lost; give fewer --runs, a smaller --max-workers or more --nodes.");
            return 2;
        }
        Console.WriteLine($"Cluster simulation: {options.Nodes} nodes x {options.Slots} slots, {options.Experiments} queued experiments of 1-{options.MaxWorkers} " +
                          $"workers ({queue.Sum()} ranks), {options.Runs} runs going when a node is lost; {Environment.ProcessorCount} cores");

        var alone = PlacementAloneScenario.Run(options.Nodes, options.Slots, queue);
        var rows = new List<(string What, string Figure, string Target)>
        {
            ("(a) pure: decision, median", Ms(alone.Decisions.MedianMs), "< 1 ms"),
            ("(a) pure: decision, p99", Ms(alone.Decisions.P99Ms), ""),
            ("(a) pure: round (index + decisions), median / p99", $"{Ms(alone.RoundTimes.MedianMs)} / {Ms(alone.RoundTimes.P99Ms)}", ""),
            ($"(a) pure: first round, empty cluster ({alone.FirstRoundPlaced} runs placed)", Ms(alone.FirstRoundMs), ""),
            ($"(a) pure: whole queue ({alone.Rounds} rounds, {alone.Decisions.Count} decisions)", Seconds(alone.Total), "< 10 s"),
        };
        var ok = alone.Decisions.MedianMs < 1 && alone.Total < TimeSpan.FromSeconds(10);

        if (!options.SkipEndToEnd)
        {
            var endToEnd = QueueScenario.RunAsync(options.Nodes, options.Slots, queue, TimeSpan.FromMinutes(10),
                TimeSpan.FromMilliseconds(options.RunMilliseconds)).GetAwaiter().GetResult();
            rows.Add(("(a) end to end: submitting the queue", Seconds(endToEnd.Submitting), ""));
            rows.Add(("(a) end to end: slot free -> every rank told, median", Ms(endToEnd.PlacementLatency.MedianMs), ""));
            rows.Add(("(a) end to end: slot free -> every rank told, p99", Ms(endToEnd.PlacementLatency.P99Ms), ""));
            // Runs that train keep their slots: the queue cannot be placed faster than its ranks' training fills the cluster.
            var trainingFloor = TimeSpan.FromMilliseconds((double)queue.Sum() * options.RunMilliseconds / (options.Nodes * options.Slots));
            var target = TimeSpan.FromSeconds(10) + trainingFloor;
            rows.Add(($"(a) end to end: whole queue placed (runs train {options.RunMilliseconds} ms)",
                Seconds(endToEnd.PlacingAll) + (endToEnd.Completed ? "" : " (TIMED OUT)"),
                options.RunMilliseconds == 0 ? "< 10 s" : $"< 10 s + {Seconds(trainingFloor)} of training"));
            ok &= Report("(a) end to end", endToEnd.Problems) && endToEnd.Completed && endToEnd.PlacingAll < target;

            var loss = NodeLossScenario.RunAsync(options.Nodes, options.Slots, runs, TimeSpan.FromMinutes(2)).GetAwaiter().GetResult();
            rows.Add(($"(b) node of {options.Slots} slots lost: {loss.AffectedRuns} of {loss.Runs} runs re-placed", Seconds(loss.Replacing) + (loss.Completed ? "" : " (TIMED OUT)"), "< 2 s"));
            ok &= Report("(b) node lost", loss.Problems) && loss.Completed && loss.Replacing < TimeSpan.FromSeconds(2);
        }

        var width = rows.Max(r => r.What.Length);
        Console.WriteLine();
        Console.WriteLine($"{"measure".PadRight(width)}  {"figure",-18} target");
        foreach (var (what, figure, target) in rows)
            Console.WriteLine($"{what.PadRight(width)}  {figure,-18} {target}");
        Console.WriteLine(ok ? "All targets met, no placement problems." : "Some target missed or some placement problem (see above).");
        return ok ? 0 : 1;
    }

    static bool Report(string scenario, IReadOnlyList<string> problems)
    {
        foreach (var problem in problems.Take(20))
            Console.WriteLine($"{scenario}: {problem}");
        if (problems.Count > 20)
            Console.WriteLine($"{scenario}: ... and {problems.Count - 20} more problems");
        return problems.Count == 0;
    }

    static string Ms(double ms) => ms.ToString(ms < 1 ? "0.000" : "0.0", CultureInfo.InvariantCulture) + " ms";

    static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture) + " s";

    static Options Parse(string[] args)
    {
        var options = new Options(1000, 8, 10_000, 500, 16, 1, false, 0);
        for (var i = 0; i < args.Length; i++)
        {
            var option = args[i];
            int Next() => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new ArgumentException($"{option} takes a positive whole number, e.g. {option} 100.");
            options = args[i] switch
            {
                "--nodes" => options with { Nodes = Next() },
                "--slots" => options with { Slots = Next() },
                "--experiments" => options with { Experiments = Next() },
                "--runs" => options with { Runs = Next() },
                "--max-workers" => options with { MaxWorkers = Next() },
                "--seed" => options with { Seed = Next() },
                "--skip-end-to-end" => options with { SkipEndToEnd = true },
                "--run-ms" => options with { RunMilliseconds = Next() },
                _ => throw new ArgumentException(
                    $"unknown option '{args[i]}'; the options are --nodes, --slots, --experiments, --runs, --max-workers, --seed, --run-ms, --skip-end-to-end."),
            };
        }
        if (options.MaxWorkers > options.Nodes * options.Slots)
            throw new ArgumentException($"--max-workers {options.MaxWorkers} is more than the cluster's {options.Nodes * options.Slots} slots; such a run could never start.");
        return options;
    }
}
