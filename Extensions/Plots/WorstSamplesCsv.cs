using System.Globalization;
using System.Text;
using TrainManager.Runtime;

namespace TrainManager.Extensions.Plots;

/// <summary><c>plots/worst-samples.csv</c>: the highest-loss training samples, highest first (losses to float precision), for a
/// person to look up in the data set (<c>rank,sample_index,loss,epoch,step</c>).</summary>
public static class WorstSamplesCsv
{
    public const string Header = "rank,sample_index,loss,epoch,step";

    public static void Write(string path, IReadOnlyList<SampleLoss> worst)
    {
        var text = new StringBuilder(Header).Append('\n');
        for (var i = 0; i < worst.Count; i++)
        {
            var s = worst[i];
            text.Append(CultureInfo.InvariantCulture, $"{i + 1},{s.SampleIndex},{s.Loss.ToString("G7", CultureInfo.InvariantCulture)},{s.Epoch},{s.Step}\n");
        }
        AtomicFile.Write(path, Encoding.UTF8.GetBytes(text.ToString()));
    }
}
