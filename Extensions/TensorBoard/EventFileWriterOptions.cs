namespace TrainManager.Extensions.TensorBoard;

/// <summary>How an <see cref="EventFileWriter"/> batches its writes.</summary>
public sealed record EventFileWriterOptions
{
    /// <summary>
    /// Longest time an event may sit in the file buffer before it is flushed to the file, so a TensorBoard that is
    /// watching the run sees it. Flushing more often costs a system call per flush.
    /// </summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Bucketing used by <see cref="EventFileWriter.AddHistogram(string, ReadOnlySpan{float}, long)"/>.</summary>
    public HistogramBinning HistogramBinning { get; init; } = HistogramBinning.Exponential;
}
