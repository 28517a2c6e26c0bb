using Spectre.Console;
using TrainManager.Cli.Client;
using TrainManager.Protocol;
using TrainManager.Extensions.Progress;

namespace TrainManager.Cli.Cluster;

/// <summary>
/// <c>--follow</c>: the same progress display as a local run (<see cref="ProgressExtension"/>, a live bar in a terminal,
/// a line per epoch elsewhere), fed from the cluster's progress messages and journal events instead of the
/// trainer's stages. Other events (scheduled, resumed, requeued) are printed as lines between fits.
/// </summary>
public sealed class ProgressFollower(IAnsiConsole console) : IRunObserver, IDisposable
{
    readonly ProgressExtension _progress = new(console);
    bool _fitting;
    int _epoch = -1;
    long _samples;

    public void OnDetails(RunDetails details)
    {
        foreach (var e in details.History)
            OnEvent(e);
    }

    public void OnEvent(IExperimentEvent e)
    {
        switch (e)
        {
            case EpochCompleted epoch when _fitting:
                _progress.PostEpoch(epoch.Epoch + 1, epoch.Metrics); // the journal counts from 0, the display from 1
                return;
            case CheckpointSaved when _fitting:
                return; // the epoch line says enough while the bar runs; `trainmanager checkpoints` lists them
            case ExperimentStarted or ExperimentRequeued or ExperimentFinished or ExperimentFailed or ExperimentCancelled:
                EndFit();
                break;
        }
        console.Profile.Out.Writer.WriteLine(RunEventText.Line(e));
    }

    public void OnProgress(RunProgress progress)
    {
        if (!_fitting)
        {
            _progress.PreFit(progress.Epochs, progress.BatchesPerEpoch);
            _fitting = true;
            _epoch = -1;
        }
        if (progress.Epoch != _epoch)
        {
            _progress.PreEpoch(progress.Epoch + 1);
            _epoch = progress.Epoch;
            _samples = 0;
        }
        using var loss = TorchSharp.torch.tensor((float)progress.Loss);
        _progress.PostBatch(progress.BatchIndex, (int)Math.Max(0, progress.SamplesThisEpoch - _samples), loss);
        _samples = progress.SamplesThisEpoch;
    }

    void EndFit()
    {
        if (!_fitting)
            return;
        _progress.PostFit();
        _fitting = false;
    }

    public void Dispose()
    {
        EndFit();
        _progress.Dispose();
    }
}

/// <summary><c>logs --follow</c>: each journal event as a line, nothing else.</summary>
public sealed class EventLineFollower(IAnsiConsole console) : IRunObserver
{
    public void OnDetails(RunDetails details)
    {
        foreach (var e in details.History)
            OnEvent(e);
    }

    public void OnEvent(IExperimentEvent e) => console.Profile.Out.Writer.WriteLine(RunEventText.Line(e));
}
