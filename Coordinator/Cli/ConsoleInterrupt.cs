namespace TrainManager.Coordinator.Cli;

/// <summary>
/// The first Ctrl+C asks the run to stop after the current stage (a checkpoint is written and the run can be resumed);
/// a second one ends the process at once, for when stopping cleanly takes too long.
/// </summary>
public sealed class ConsoleInterrupt : IDisposable
{
    readonly CancellationTokenSource _source = new();

    public ConsoleInterrupt() => Console.CancelKeyPress += OnCancelKeyPress;

    public CancellationToken Token => _source.Token;

    void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (_source.IsCancellationRequested)
            return; // second press: let the runtime end the process
        e.Cancel = true;
        Console.Error.WriteLine("Stopping after the current stage; press Ctrl+C again to abort now.");
        _source.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _source.Dispose();
    }
}
