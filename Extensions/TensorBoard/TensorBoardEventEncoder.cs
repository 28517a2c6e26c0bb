namespace TrainManager.Extensions.TensorBoard;

/// <summary>
/// Encodes the <c>tensorflow.Event</c> messages TensorBoard reads (event.proto, summary.proto).
/// Field numbers are those of the .proto files; only the fields this writer emits are listed.
/// </summary>
internal static class TensorBoardEventEncoder
{
    public const string FileVersion = "brain.Event:2";

    private static class EventField
    {
        public const int WallTime = 1;
        public const int Step = 2;
        public const int FileVersion = 3;
        public const int Summary = 5;
    }

    private static class SummaryField
    {
        public const int Value = 1;
    }

    private static class SummaryValueField
    {
        public const int Tag = 1;
        public const int SimpleValue = 2;
        public const int Histogram = 5;
    }

    private static class HistogramField
    {
        public const int Min = 1;
        public const int Max = 2;
        public const int Num = 3;
        public const int Sum = 4;
        public const int SumSquares = 5;
        public const int BucketLimit = 6;
        public const int Bucket = 7;
    }

    /// <summary>The first record of every event file; TensorBoard uses it to recognise the format.</summary>
    public static ProtobufWriter FileVersionEvent(double wallTime)
    {
        var writer = new ProtobufWriter();
        writer.WriteDouble(EventField.WallTime, wallTime);
        writer.WriteString(EventField.FileVersion, FileVersion);
        return writer;
    }

    public static ProtobufWriter ScalarEvent(double wallTime, long step, string tag, float value)
    {
        var summaryValue = new ProtobufWriter();
        summaryValue.WriteString(SummaryValueField.Tag, tag);
        summaryValue.WriteFloat(SummaryValueField.SimpleValue, value);
        return SummaryEvent(wallTime, step, summaryValue);
    }

    public static ProtobufWriter HistogramEvent(double wallTime, long step, string tag, HistogramSummary histogram)
    {
        var histo = new ProtobufWriter();
        histo.WriteDouble(HistogramField.Min, histogram.Min);
        histo.WriteDouble(HistogramField.Max, histogram.Max);
        histo.WriteDouble(HistogramField.Num, histogram.Count);
        histo.WriteDouble(HistogramField.Sum, histogram.Sum);
        histo.WriteDouble(HistogramField.SumSquares, histogram.SumOfSquares);
        histo.WritePackedDoubles(HistogramField.BucketLimit, histogram.BucketLimits);
        histo.WritePackedDoubles(HistogramField.Bucket, histogram.BucketCounts);

        var summaryValue = new ProtobufWriter();
        summaryValue.WriteString(SummaryValueField.Tag, tag);
        summaryValue.WriteMessage(SummaryValueField.Histogram, histo);
        return SummaryEvent(wallTime, step, summaryValue);
    }

    private static ProtobufWriter SummaryEvent(double wallTime, long step, ProtobufWriter summaryValue)
    {
        var summary = new ProtobufWriter();
        summary.WriteMessage(SummaryField.Value, summaryValue);

        var writer = new ProtobufWriter();
        writer.WriteDouble(EventField.WallTime, wallTime);
        writer.WriteInt64(EventField.Step, step);
        writer.WriteMessage(EventField.Summary, summary);
        return writer;
    }
}
