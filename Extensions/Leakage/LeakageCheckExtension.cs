using TrainManager.Experiments;
using TrainManager.Stages;
using static TorchSharp.torch;
using TrainManager.Components;

namespace TrainManager.Extensions.Leakage;

/// <summary>
/// Checks the configured model for batch leakage on the first real training batch, before any step changes the
/// weights: writes <c>leakage.txt</c> into the run and, when a leak is found, stops the run with the report
/// (or only warns, with <c>fail-on-leak = false</c>).
/// </summary>
public sealed class LeakageCheckExtension(string? runDirectory, bool failOnLeak, LeakageCheckOptions options) : Extension
{
    /// <summary>Writes files (or the console): once, on rank 0, in a data-parallel run.</summary>
    public override RankScope Ranks => RankScope.RankZero;

    public override string Name => "leakage-check";

    public LeakageReport? Report { get; private set; }

    [Component("leakage-check", Description = "proves on the first batch that samples do not mix")]
    public static LeakageCheckExtension Create(ExtensionContext context,
        [Setting("stop the run when samples mix (false: only warn)")] bool failOnLeak = true,
        [Setting("samples probed")] int probes = 4) =>
        new(context.RunDirectory, failOnLeak, new LeakageCheckOptions { ProbeCount = probes });

    public void PreBatch(nn.Module<Tensor, Tensor> model, Tensor inputs, long step)
    {
        if (Report is not null || step != 0) return;
        Report = BatchLeakageChecker.Check(model, inputs, options);
        var text = Report.ToString();
        if (runDirectory is not null) File.WriteAllText(Path.Combine(runDirectory, "leakage.txt"), text);
        if (!Report.HasLeak) return;
        if (failOnLeak)
            throw new BatchLeakageException(text);
        Console.Error.WriteLine(text);
    }
}

/// <summary>The model mixes the samples of a batch; the message is the full leakage report.</summary>
public sealed class BatchLeakageException(string report)
    : Exception($"The model leaks information between the samples of a batch:{Environment.NewLine}{report}");
