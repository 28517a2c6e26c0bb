using System.Runtime.InteropServices;

namespace TrainManager.Cli;

/// <summary>
/// The first Ctrl+C (or SIGTERM, as a service manager or <c>kill</c> sends) asks the run to stop after the current stage
/// (a checkpoint is written and the run can be resumed); a second one ends the process at once, for when stopping
/// cleanly takes too long. The CLI is the only one listening: the embedded cluster leaves these signals to it.
/// </summary>
public sealed class ConsoleInterrupt : IDisposable
{
    readonly CancellationTokenSource _source = new();
    readonly PosixSignalRegistration? _terminate;

    public ConsoleInterrupt()
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        if (!OperatingSystem.IsWindows())
            _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => context.Cancel = RequestStop());
    }

    public CancellationToken Token => _source.Token;

    void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e) => e.Cancel = RequestStop();

    /// <returns>Whether the signal was taken as a request to stop (false on the second one: let the runtime end the process).</returns>
    bool RequestStop()
    {
        if (_source.IsCancellationRequested)
            return false;
        Console.Error.WriteLine("Stopping after the current stage; press Ctrl+C again to abort now.");
        _source.Cancel();
        return true;
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _terminate?.Dispose();
        _source.Dispose();
    }
}
