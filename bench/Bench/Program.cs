using BenchmarkDotNet.Running;
using TrainManager.Bench;

// The training benchmarks need TorchSharp's native library, which must be made loadable first.
TrainManager.Runtime.TorchRuntime.EnsureLoaded();

if (args.Length > 0 && args[0] == "training")
    return await TrainingBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "allreduce")
    return AllReduceBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "soak")
    return StressSoak.Run(args[1..]);
if (args.Length > 0 && args[0] == "data")
    return DataSourceBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "dataparallel")
    return DataParallelBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "project")
    return ProjectBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "fingerprint")
    return FingerprintBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "bundle")
    return TrainManager.Bench.BundleBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "cluster-sim")
    return TrainManager.Bench.ClusterSimulation.ClusterSimulationBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "cluster-restart")
    return TrainManager.Bench.ClusterSimulation.RestartScenario.Run(args[1..]);

BenchmarkSwitcher.FromAssembly(typeof(StageBenchmarks).Assembly).Run(args);
return 0;
