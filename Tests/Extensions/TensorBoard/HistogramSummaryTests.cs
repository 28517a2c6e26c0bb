using TrainManager.Extensions.TensorBoard;

namespace TrainManager.Tests.Extensions.TensorBoard;

public sealed class HistogramSummaryTests
{
    [Fact]
    public void Fixed_count_binning_splits_the_range_into_equal_buckets_and_keeps_the_maximum()
    {
        var summary = HistogramSummary.Compute([0f, 1f, 2f, 3f, 4f], HistogramBinning.FixedCount(4));

        Assert.Equal([1.0, 2.0, 3.0, 4.0], summary.BucketLimits);
        Assert.Equal([1.0, 1.0, 1.0, 2.0], summary.BucketCounts);
        Assert.Equal((0.0, 4.0, 5.0, 10.0, 30.0), (summary.Min, summary.Max, summary.Count, summary.Sum, summary.SumOfSquares));
    }

    [Fact]
    public void Exponential_binning_puts_each_value_below_its_bucket_limit_and_above_the_previous_one()
    {
        float[] values = [-3.5f, -0.001f, 0f, 0.25f, 0.26f, 7f, 1e6f];
        var summary = HistogramSummary.Compute(values, HistogramBinning.Exponential);

        Assert.Equal(values.Length, summary.BucketCounts.Sum());
        Assert.Equal(summary.BucketLimits.Order(), summary.BucketLimits);
        for (var i = 0; i < summary.BucketCounts.Count; i++)
        {
            if (summary.BucketCounts[i] == 0)
                continue;
            var inBucket = values.Count(v => v < summary.BucketLimits[i] && (i == 0 || v >= summary.BucketLimits[i - 1]));
            Assert.Equal(summary.BucketCounts[i], inBucket);
        }
    }

    [Fact]
    public void Runs_of_empty_buckets_are_merged_and_empty_ends_dropped()
    {
        var summary = HistogramSummary.Compute([0f, 10f], HistogramBinning.FixedCount(10));

        Assert.Equal([1.0, 0.0, 1.0], summary.BucketCounts);
        Assert.Equal([1.0, 9.0, 10.0], summary.BucketLimits);
    }

    [Fact]
    public void Non_finite_values_are_left_out_of_statistics_and_buckets()
    {
        var summary = HistogramSummary.Compute([1f, float.NaN, float.PositiveInfinity, 3f], HistogramBinning.FixedCount(2));

        Assert.Equal((1.0, 3.0, 2.0, 4.0), (summary.Min, summary.Max, summary.Count, summary.Sum));
        Assert.Equal(2.0, summary.BucketCounts.Sum());
    }

    [Fact]
    public void Constant_values_fill_a_single_bucket()
    {
        var summary = HistogramSummary.Compute([2f, 2f, 2f], HistogramBinning.FixedCount(8));

        Assert.Equal([2.0], summary.BucketLimits);
        Assert.Equal([3.0], summary.BucketCounts);
    }

    [Fact]
    public void No_values_give_an_empty_histogram()
    {
        var summary = HistogramSummary.Compute([], HistogramBinning.Exponential);

        Assert.Equal(0.0, summary.Count);
        Assert.Equal([0.0], summary.BucketCounts);
    }
}
