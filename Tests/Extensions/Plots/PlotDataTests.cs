using TrainManager.Extensions.Plots;

namespace TrainManager.Tests.Extensions.Plots;

/// <summary>The data behind the pictures: bounded series, percentiles, worst samples, and when to redraw.</summary>
public sealed class PlotDataTests
{
    [Fact]
    public void A_compacting_series_stays_within_its_capacity_and_keeps_the_mean()
    {
        var series = new CompactingSeries(capacity: 8);
        for (var i = 0; i < 1000; i++) series.Add(i, i % 2 == 0 ? 1.0 : 3.0);

        var (xs, ys) = series.Points();
        Assert.True(xs.Length <= 9, $"{xs.Length} points kept");
        Assert.Equal(1000, series.Added);
        Assert.All(ys, y => Assert.Equal(2.0, y, 9));
        Assert.Equal(0.5 * series.PointsPerBucket - 0.5, xs[0], 9);   // the first bucket's mean step
    }

    [Fact]
    public void A_compacting_series_shows_its_newest_value_before_the_bucket_is_full()
    {
        var series = new CompactingSeries(capacity: 4);
        for (var i = 0; i < 5; i++) series.Add(i, i);   // 4 → compacted to 2 buckets of 2; the 5th is pending

        var (xs, ys) = series.Points();
        Assert.Equal([0.5, 2.5, 4.0], xs);
        Assert.Equal([0.5, 2.5, 4.0], ys);
    }

    [Fact]
    public void Percentiles_interpolate_between_order_statistics_and_leave_out_non_finite_losses()
    {
        var d = LossDistribution.Of(3, [5f, 1f, float.NaN, 4f, 2f, 3f, float.PositiveInfinity])!;

        Assert.Equal(3, d.Epoch);
        Assert.Equal(5, d.Samples);
        Assert.Equal(1.2, d.P5, 6);
        Assert.Equal(2.0, d.P25, 6);
        Assert.Equal(3.0, d.Median, 6);
        Assert.Equal(4.0, d.P75, 6);
        Assert.Equal(4.8, d.P95, 6);
        Assert.Equal(5.0, d.Max, 6);
    }

    [Fact]
    public void The_worst_samples_are_those_of_the_last_finished_epoch_each_once()
    {
        var tracker = new SampleLossTracker(worstCount: 2);
        tracker.Add(0, 0, [9f, 8f, 1f], [10, 11, 12]);    // epoch 0: everything is high early on
        tracker.Add(1, 1, [0.1f, 0.2f, 3f], [10, 11, 12]);
        tracker.Add(1, 2, [2f, 0.5f], [13, 12]);          // sample 12 seen twice: its higher loss counts
        tracker.FinishEpoch();

        Assert.Equal([(12L, 3.0), (13L, 2.0)], tracker.Worst().Select(w => (w.SampleIndex, w.Loss)));
        Assert.Equal([0, 1], tracker.Distributions().Select(d => d.Epoch));
    }

    [Fact]
    public void Before_the_first_epoch_ends_the_epoch_in_progress_gives_the_worst_samples_and_a_distribution()
    {
        var tracker = new SampleLossTracker(worstCount: 1);
        tracker.Add(0, 0, [0.3f, 0.7f], [1, 2]);

        Assert.Equal(2, tracker.Worst().Single().SampleIndex);
        Assert.Equal(2, tracker.Distributions().Single().Samples);
    }

    [Fact]
    public void A_requested_redraw_waits_for_the_minimum_interval_since_the_last_one()
    {
        var clock = new ManualClock();
        var schedule = new RenderSchedule(TimeSpan.FromSeconds(5), clock);
        Assert.False(schedule.Due);          // nothing asked for

        schedule.Request();
        Assert.True(schedule.Due);           // the first drawing needs no wait
        schedule.Rendered();

        schedule.Request();
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.False(schedule.Due);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(schedule.Due);
    }

    [Fact]
    public void Smoothing_starts_at_the_first_value_rather_than_at_zero()
    {
        var (smoothed, span) = Smoothing.ExponentialMovingAverage([2.0, 2.0, 2.0, 0.0]);

        Assert.Equal(5, span);
        Assert.Equal(2.0, smoothed[0], 9);
        Assert.Equal(2.0, smoothed[2], 9);
        Assert.InRange(smoothed[3], 0.0, 2.0);
    }
}
