using System.Text.RegularExpressions;
using TrainManager.Extensions.TensorBoard;

namespace TrainManager.Tests.Extensions.TensorBoard;

public sealed class EventFileWriterTests : IDisposable
{
    private readonly string _logDirectory = Path.Combine(Path.GetTempPath(), "tm-tb-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_logDirectory))
            Directory.Delete(_logDirectory, recursive: true);
    }

    [Fact]
    public void File_is_named_like_tensorboard_event_files()
    {
        using var writer = new EventFileWriter(_logDirectory);

        Assert.Equal(_logDirectory, Path.GetDirectoryName(writer.FilePath));
        Assert.Matches(new Regex(@"^events\.out\.tfevents\.\d{10}\..+$"), Path.GetFileName(writer.FilePath));
    }

    [Fact]
    public void Two_writers_in_the_same_directory_get_different_files()
    {
        using var first = new EventFileWriter(_logDirectory);
        using var second = new EventFileWriter(_logDirectory);

        Assert.NotEqual(first.FilePath, second.FilePath);
    }

    [Fact]
    public void First_record_declares_the_file_version()
    {
        string path;
        using (var writer = new EventFileWriter(_logDirectory))
            path = writer.FilePath;

        var first = EventFileReader.ReadAll(path)[0];
        Assert.Equal("brain.Event:2", first.FileVersion);
        Assert.InRange(first.WallTime, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
    }

    [Fact]
    public async Task Scalars_come_back_with_their_tags_values_and_steps_in_order()
    {
        string path;
        await using (var writer = new EventFileWriter(_logDirectory))
        {
            path = writer.FilePath;
            for (var step = 0; step < 50; step++)
            {
                writer.AddScalar("loss/train", 1.0 / (step + 1), step);
                writer.AddScalar("lr", 0.01f, step);
            }
        }

        var scalars = EventFileReader.ReadAll(path).Skip(1).ToList();
        Assert.Equal(100, scalars.Count);
        var losses = scalars.Where(e => e.Values.Single().Tag == "loss/train").ToList();
        Assert.Equal(Enumerable.Range(0, 50).Select(s => (long)s), losses.Select(e => e.Step));
        Assert.Equal(Enumerable.Range(0, 50).Select(s => (float)(1.0 / (s + 1))), losses.Select(e => e.Values.Single().SimpleValue!.Value));
        Assert.All(scalars.Where(e => e.Values.Single().Tag == "lr"), e => Assert.Equal(0.01f, e.Values.Single().SimpleValue));
    }

    [Fact]
    public async Task Histogram_comes_back_with_statistics_and_buckets()
    {
        var values = Enumerable.Range(0, 1000).Select(i => (float)Math.Sin(i)).ToArray();
        var expected = HistogramSummary.Compute(values, HistogramBinning.Exponential);
        string path;
        await using (var writer = new EventFileWriter(_logDirectory))
        {
            path = writer.FilePath;
            writer.AddHistogram("weights/fc1", values, step: 7);
            Array.Clear(values); // the writer must have copied them
        }

        var histogramEvent = EventFileReader.ReadAll(path)[1];
        var value = histogramEvent.Values.Single();
        var histogram = value.Histogram!;
        Assert.Equal(7, histogramEvent.Step);
        Assert.Equal("weights/fc1", value.Tag);
        Assert.Equal(1000, histogram.Num);
        Assert.Equal((expected.Min, expected.Max, expected.Sum, expected.SumOfSquares),
            (histogram.Min, histogram.Max, histogram.Sum, histogram.SumSquares));
        Assert.Equal(expected.BucketLimits, histogram.BucketLimits);
        Assert.Equal(expected.BucketCounts, histogram.Buckets);
        Assert.Equal(1000, histogram.Buckets.Sum());
    }

    [Fact]
    public void Histogram_with_explicit_binning_uses_that_binning()
    {
        using var writer = new EventFileWriter(_logDirectory);
        writer.AddHistogram("h", [0f, 1f, 2f, 3f], step: 1, HistogramBinning.FixedCount(2));
        writer.Flush();

        var histogram = EventFileReader.ReadAll(writer.FilePath)[1].Values.Single().Histogram!;
        Assert.Equal([1.5, 3.0], histogram.BucketLimits);
        Assert.Equal([2.0, 2.0], histogram.Buckets);
    }

    [Fact]
    public void Flush_makes_everything_queued_before_it_readable_while_the_writer_stays_open()
    {
        using var writer = new EventFileWriter(_logDirectory, new EventFileWriterOptions { FlushInterval = TimeSpan.FromHours(1) });
        for (var step = 0; step < 10; step++)
            writer.AddScalar("x", step, step);

        writer.Flush();

        Assert.Equal(11, EventFileReader.ReadAll(writer.FilePath).Count);
    }

    [Fact]
    public async Task Events_reach_the_file_within_the_flush_interval_without_an_explicit_flush()
    {
        await using var writer = new EventFileWriter(_logDirectory, new EventFileWriterOptions { FlushInterval = TimeSpan.FromMilliseconds(50) });
        writer.AddScalar("x", 1, 1);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (EventFileReader.ReadAll(writer.FilePath).Count < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(20);

        Assert.Equal(2, EventFileReader.ReadAll(writer.FilePath).Count);
    }

    [Fact]
    public async Task Concurrent_producers_lose_no_events()
    {
        string path;
        await using (var writer = new EventFileWriter(_logDirectory))
        {
            path = writer.FilePath;
            await Task.WhenAll(Enumerable.Range(0, 4).Select(producer => Task.Run(() =>
            {
                for (var step = 0; step < 250; step++)
                    writer.AddScalar($"producer{producer}", step, step);
            })));
        }

        var events = EventFileReader.ReadAll(path).Skip(1).ToList();
        Assert.Equal(1000, events.Count);
        Assert.All(events.GroupBy(e => e.Values.Single().Tag), g => Assert.Equal(250, g.Select(e => e.Step).Distinct().Count()));
    }

    [Fact]
    public void Adding_after_dispose_is_refused()
    {
        var writer = new EventFileWriter(_logDirectory);
        writer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => writer.AddScalar("x", 1, 1));
    }

    [Fact]
    public void Negative_steps_round_trip()
    {
        using var writer = new EventFileWriter(_logDirectory);
        writer.AddScalar("x", 1, -5);
        writer.Flush();

        Assert.Equal(-5, EventFileReader.ReadAll(writer.FilePath)[1].Step);
    }
}
