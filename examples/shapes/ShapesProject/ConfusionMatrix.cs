using System.Globalization;
using System.Text;
using TrainManager.Components;
using TrainManager.Stages;
using static TorchSharp.torch;

namespace Shapes;

/// <summary>
/// An extension of its own: counts, for every evaluation of a split, which class each sample was predicted as, and
/// writes <c>confusion-&lt;split&gt;.csv</c> into the run directory (rows: the true class, columns: the predicted one).
/// It reads the fixtures <c>prediction</c> and <c>targets</c> of each <c>eval_batch</c>, <c>split</c> of the
/// evaluation (<c>val</c> each epoch, <c>test</c> at the end), and <c>run_dir</c> of the fit.
/// </summary>
[Component("confusion-matrix", Description = "confusion-<split>.csv: true class by predicted class")]
public sealed class ConfusionMatrix([Setting("number of classes")] int classes = 4) : Extension
{
    private readonly long[,] _counts = new long[classes, classes];
    private string? _runDirectory;

    /// <summary>The counts of the last evaluation, for tests and for code that reads them.</summary>
    public long[,] Counts => (long[,])_counts.Clone();

    public void PreFit(string? runDir) => _runDirectory = runDir;

    // Each epoch's validation, and the test at the end of the fit, count afresh.
    public void PreValidate() => Array.Clear(_counts);

    public void PreTest() => Array.Clear(_counts);

    public void PostEvalBatch(Tensor prediction, Tensor targets)
    {
        using var predicted = prediction.argmax(1).cpu();
        using var truth = targets.cpu();
        var p = predicted.data<long>().ToArray();
        var t = truth.data<long>().ToArray();
        for (var i = 0; i < p.Length; i++)
            if (t[i] < classes && p[i] < classes) _counts[t[i], p[i]]++;
    }

    public void PostValidate(string split) => Write(split);

    public void PostTest(string split) => Write(split);

    private void Write(string split)
    {
        if (_runDirectory is null) return;
        var text = new StringBuilder("true\\predicted");
        for (var c = 0; c < classes; c++) text.Append(',').Append(c);
        text.AppendLine();
        for (var row = 0; row < classes; row++)
        {
            text.Append(row);
            for (var c = 0; c < classes; c++) text.Append(',').Append(_counts[row, c].ToString(CultureInfo.InvariantCulture));
            text.AppendLine();
        }
        File.WriteAllText(Path.Combine(_runDirectory, $"confusion-{split}.csv"), text.ToString());
    }
}
