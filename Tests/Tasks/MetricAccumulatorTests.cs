using TrainManager.Tasks;
using TrainManager.Tasks.Metrics;
using static TorchSharp.torch;

namespace TrainManager.Tests.Tasks;

/// <summary>Metrics accumulate counts and sums across batches, so a split's value is exact (not a mean of batch values).</summary>
public sealed class MetricAccumulatorTests
{
    // Two batches of a 3-class problem. Predicted classes: 1, 0, 2 | 0, 2; targets: 1, 1, 0 | 0, 1.
    static readonly float[][] ScoresA = [[0.1f, 0.7f, 0.2f], [0.5f, 0.3f, 0.2f], [0.2f, 0.3f, 0.5f]];
    static readonly long[] TargetsA = [1, 1, 0];
    static readonly float[][] ScoresB = [[0.9f, 0.06f, 0.04f], [0.1f, 0.3f, 0.6f]];
    static readonly long[] TargetsB = [0, 1];

    static double OverBothBatches(IMetric metric)
    {
        using var scope = NewDisposeScope();
        metric.Update(tensor(ScoresA.SelectMany(r => r).ToArray(), [3, 3]), tensor(TargetsA));
        metric.Update(tensor(ScoresB.SelectMany(r => r).ToArray(), [2, 3]), tensor(TargetsB));
        return metric.Compute();
    }

    [Fact]
    public void Accuracy_counts_the_right_argmax_over_every_batch() =>
        Assert.Equal(2.0 / 5, OverBothBatches(new TopKAccuracy(1)), 12);

    [Fact]
    public void Top_k_accuracy_counts_a_target_among_the_k_highest_scores() =>
        Assert.Equal(4.0 / 5, OverBothBatches(new TopKAccuracy(2)), 12);

    [Fact]
    public void Top_k_larger_than_the_number_of_classes_counts_every_sample() =>
        Assert.Equal(1.0, OverBothBatches(new TopKAccuracy(5)), 12);

    [Fact]
    public void Class_f1_is_computed_from_true_and_false_positives_and_negatives_summed_over_the_split()
    {
        // Class 0: TP 1, FP 1, FN 1 → 0.5. Class 1: TP 1, FN 2 → 0.5. Class 2: FP 2 → 0.
        Assert.Equal(0.5, OverBothBatches(new ClassF1(0)), 12);
        Assert.Equal(0.5, OverBothBatches(new ClassF1(1)), 12);
        Assert.Equal(0.0, OverBothBatches(new ClassF1(2)), 12);
    }

    [Fact]
    public void Macro_f1_averages_the_classes_f1() =>
        Assert.Equal(1.0 / 3, OverBothBatches(new ClassF1()), 12);

    [Fact]
    public void Macro_f1_leaves_out_a_class_that_occurs_neither_in_targets_nor_predictions()
    {
        using var scope = NewDisposeScope();
        var f1 = new ClassF1();
        // Four classes; class 3 never occurs. Predicted 0, 1; targets 0, 0: class 0 TP 1 FN 1 → 2/3, class 1 FP 1 → 0.
        f1.Update(tensor(new float[] { 1, 0, 0, 0, 0, 1, 0, 0 }, [2, 4]), tensor(new long[] { 0, 0 }));
        Assert.Equal((2.0 / 3 + 0) / 2, f1.Compute(), 12);
    }

    // Multi-label: logits ≥ 0 are predicted at threshold 0.5.
    // Batch 1: predicted [1,0], [1,1]; targets [1,0], [0,1]. Batch 2: predicted [0,1]; targets [1,1].
    static double MultiLabel(IMetric metric)
    {
        using var scope = NewDisposeScope();
        metric.Update(tensor(new float[] { 2, -1, 1, 1 }, [2, 2]), tensor(new float[] { 1, 0, 0, 1 }, [2, 2]));
        metric.Update(tensor(new float[] { -2, 3 }, [1, 2]), tensor(new float[] { 1, 1 }, [1, 2]));
        return metric.Compute();
    }

    [Fact]
    public void Multi_label_f1_per_label_sums_its_counts_over_the_split()
    {
        Assert.Equal(0.5, MultiLabel(new MultiLabelF1(label: 0)), 12); // TP 1, FP 1, FN 1
        Assert.Equal(1.0, MultiLabel(new MultiLabelF1(label: 1)), 12); // TP 2
    }

    [Fact]
    public void Multi_label_macro_f1_averages_the_labels() => Assert.Equal(0.75, MultiLabel(new MultiLabelF1()), 12);

    [Fact]
    public void The_threshold_decides_which_labels_are_predicted() =>
        // At 0.8 (logit 1.386) the predictions are [1,0], [0,0], [0,1]: each label has TP 1, FN 1 → 2/3.
        Assert.Equal(2.0 / 3, MultiLabel(new MultiLabelF1(threshold: 0.8)), 12);

    [Fact]
    public void Exact_match_counts_samples_whose_every_label_is_right() => Assert.Equal(1.0 / 3, MultiLabel(new ExactMatch()), 12);

    // Regression: a [batch] target against a [batch, 1] prediction in the first batch, [batch, 1] in the second.
    static readonly double[] Predicted = [1, 2, 3];
    static readonly double[] Actual = [1.5, 2, 5];

    static double Regression(IMetric metric)
    {
        using var scope = NewDisposeScope();
        metric.Update(tensor(new float[] { 1, 2 }, [2, 1]), tensor(new float[] { 1.5f, 2 }));
        metric.Update(tensor(new float[] { 3 }, [1, 1]), tensor(new float[] { 5 }, [1, 1]));
        return metric.Compute();
    }

    [Fact]
    public void Mse_is_the_mean_squared_error_over_the_split() =>
        Assert.Equal(Predicted.Zip(Actual).Average(p => Math.Pow(p.First - p.Second, 2)), Regression(new MeanSquaredError()), 12);

    [Fact]
    public void Mae_is_the_mean_absolute_error_over_the_split() =>
        Assert.Equal(Predicted.Zip(Actual).Average(p => Math.Abs(p.First - p.Second)), Regression(new MeanAbsoluteError()), 12);

    [Fact]
    public void R2_is_one_minus_residual_over_total_sum_of_squares_of_the_whole_split()
    {
        var mean = Actual.Average();
        var expected = 1 - Predicted.Zip(Actual).Sum(p => Math.Pow(p.Second - p.First, 2)) / Actual.Sum(y => Math.Pow(y - mean, 2));
        Assert.Equal(expected, Regression(new RSquared()), 10);
    }

    [Fact]
    public void R2_of_several_outputs_is_the_mean_of_each_outputs_r2()
    {
        using var scope = NewDisposeScope();
        var r2 = new RSquared();
        // Output 0 predicted exactly (R² 1); output 1 predicted as its mean (R² 0).
        r2.Update(tensor(new float[] { 1, 2, 2, 2 }, [2, 2]), tensor(new float[] { 1, 1, 2, 3 }, [2, 2]));
        r2.Update(tensor(new float[] { 3, 2 }, [1, 2]), tensor(new float[] { 3, 2 }, [1, 2]));
        Assert.Equal(0.5, r2.Compute(), 10);
    }

    [Fact]
    public void A_metric_that_saw_no_batch_is_nan() => Assert.True(double.IsNaN(new MeanSquaredError().Compute()));
}
