using TorchSharp;
using TrainManager.Experiments;
using TrainManager.Stages;
using static TorchSharp.torch;
using TrainManager.Components;

namespace TrainManager.Extensions.TensorBoard;

/// <summary>
/// Scalars (loss, learning rate, epoch metrics) and histograms (weights, gradients) as TensorBoard event files
/// in <c>runs/&lt;run-id&gt;/tb/</c>. Inline on purpose: each hook only reads a few numbers and hands them to the
/// writer's queue, which a background task encodes and writes, so the training thread never waits on the disk;
/// histograms must be copied before the optimizer changes the weights and zeroes the gradients anyway.
/// </summary>
public sealed class TensorBoardExtension(string logDirectory, int scalarEvery, int histogramEvery) : Extension
{
    /// <summary>Writes files (or the console): once, on rank 0, in a data-parallel run.</summary>
    public override RankScope Ranks => RankScope.RankZero;

    private EventFileWriter? _writer;

    public override string Name => "tensorboard";

    [Component("tensorboard", Description = "TensorBoard event files in tb/")]
    public static TensorBoardExtension Create(ExtensionContext context,
        [Setting("write the batch scalars every N steps")] int scalarEvery = 10,
        [Setting("write weight histograms every N steps")] int histogramEvery = 200) =>
        new(Path.Combine(context.RequireRunDirectory("tensorboard"), "tb"), scalarEvery, histogramEvery);

    public string? EventFile => _writer?.FilePath;

    public void PreFit() => _writer ??= new EventFileWriter(logDirectory);

    private EventFileWriter Writer => _writer ??= new EventFileWriter(logDirectory);

    public void PostBatch(long step, Tensor loss, double learningRate)
    {
        if (step % scalarEvery != 0) return;
        Writer.AddScalar("train/loss", loss.item<float>(), step);
        Writer.AddScalar("train/learning_rate", learningRate, step);
    }

    /// <summary>After backward and before the step: gradients are there and weights are those that produced them.</summary>
    public void PreStep(nn.Module model, long step)
    {
        if (histogramEvery <= 0 || step % histogramEvery != 0) return;
        foreach (var (name, parameter) in model.named_parameters())
        {
            Writer.AddHistogram($"weights/{name}", Values(parameter), step);
            if (parameter.grad is { } grad) Writer.AddHistogram($"gradients/{name}", Values(grad), step);
        }
    }

    /// <summary>Every epoch metric the trainer reports (the task's, on the evaluated split), at the epoch's number (from 1).</summary>
    public void PostEpoch(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        foreach (var (key, value) in metrics) Writer.AddScalar($"epoch/{key}", value, epoch);
        Writer.Flush();
    }

    private static float[] Values(Tensor tensor)
    {
        using var flat = tensor.detach().to(float32).cpu().flatten();
        return flat.data<float>().ToArray();
    }

    public override void OnRoutineEnd()
    {
        _writer?.Dispose();
        _writer = null;
    }

    public override void OnFailure(StageFailure failure) => OnRoutineEnd();
}
