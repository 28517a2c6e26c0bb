using TrainManager.Stages;

namespace TrainManager.Cli;

/// <summary>
/// Turns Ctrl+C into a clean stop: the current batch finishes, later stages are skipped, and the trainer writes its
/// final checkpoint. Checked on the training thread at the start of the fit and at the end of each batch (a flag
/// read), so the stage engine is only ever touched from the thread that runs it, and no batch stops half done.
/// </summary>
public sealed class StopOnInterrupt(CancellationToken interrupt) : Extension
{
    public const string Reason = "interrupted (Ctrl+C)";

    public override string Name => "stop-on-interrupt";

    // At the fit's start too: a stop requested before the routine began would otherwise be forgotten when it begins.
    public void PreFit(StageControl control) => StopIfInterrupted(control);

    public void PostBatch(StageControl control) => StopIfInterrupted(control);

    void StopIfInterrupted(StageControl control)
    {
        if (interrupt.IsCancellationRequested && !control.StopRequested)
            control.StopRoutine(Reason);
    }
}
