using TrainManager.Cli;
using TrainManager.Runtime;

// TorchSharp's native backend has to be loaded (and, on Debian 12 and similar, patched) before any TorchSharp type
// is touched; constructing a module calls native code before torch's own initialisers run.
try
{
    TorchRuntime.EnsureLoaded();
}
catch (TorchRuntimeException e)
{
    Console.Error.WriteLine(e.Message);
    return ExitCodes.RunFailed;
}

using var interrupt = new ConsoleInterrupt();
return TrainManagerApp.Run(args, cancellationToken: interrupt.Token);
