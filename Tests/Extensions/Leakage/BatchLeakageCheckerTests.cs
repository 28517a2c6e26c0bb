using TorchSharp.Modules;
using TrainManager.Extensions.Leakage;
using TrainManager.Runtime;
using static TorchSharp.torch;

namespace TrainManager.Tests.Extensions.Leakage;

/// <summary>The check saves and rewinds torch's global CPU generator; other torch tests must not draw from it meanwhile.</summary>
[CollectionDefinition(nameof(TorchGlobalRandomState), DisableParallelization = true)]
public sealed class TorchGlobalRandomState;

[Collection(nameof(TorchGlobalRandomState))]
public sealed class BatchLeakageCheckerTests
{
    private const int BatchSize = 8;

    public BatchLeakageCheckerTests()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(7);
    }

    private static Tensor Batch() => randn(BatchSize, PlantedModels.Features);

    [Fact]
    public void Plain_mlp_has_no_leak_forward_or_backward()
    {
        using var model = PlantedModels.Mlp();

        var report = BatchLeakageChecker.Check(model, Batch());

        Assert.False(report.HasLeak, report.ToString());
        Assert.True(report.GradientsChecked);
        Assert.Empty(report.LayersPutInEvalMode);
        Assert.Equal([0, 2, 5, 7], report.ProbedSamples);
        Assert.Null(report.FirstLeakingLayer);
    }

    [Fact]
    public void Cnn_with_batch_norm_in_training_mode_passes_and_says_batch_norm_was_put_in_eval_mode()
    {
        using var model = PlantedModels.CnnWithBatchNorm();
        model.train();

        var report = BatchLeakageChecker.Check(model, randn(BatchSize, 3, 8, 8));

        Assert.False(report.HasLeak, report.ToString());
        var layer = Assert.Single(report.LayersPutInEvalMode);
        Assert.Equal(("bn", nameof(BatchNorm2d)), (layer.Name, layer.TypeName));
        Assert.Contains("bn (BatchNorm2d)", report.ToString());
    }

    [Fact]
    public void Dropout_in_training_mode_is_put_in_eval_mode_instead_of_reported_as_a_leak()
    {
        using var model = PlantedModels.MlpWithDropout();
        model.train();

        var report = BatchLeakageChecker.Check(model, Batch());

        Assert.False(report.HasLeak, report.ToString());
        Assert.Equal("drop", Assert.Single(report.LayersPutInEvalMode).Name);
    }

    [Fact]
    public void View_that_folds_the_batch_into_features_is_caught_and_named()
    {
        using var model = PlantedModels.WithBug("fold", new FoldBatchIntoFeatures());

        var report = BatchLeakageChecker.Check(model, Batch());

        Assert.True(report.HasLeak);
        Assert.Equal(new LeakingLayer("fold", nameof(FoldBatchIntoFeatures)), report.FirstLeakingLayer);
        // view(-1, 2F) pairs sample 2k with 2k+1: perturbing 0 moves 1, perturbing 7 moves 6, and nothing else.
        Assert.Contains((1, 0), report.LeakingPairs);
        Assert.Contains((6, 7), report.LeakingPairs);
        Assert.All(report.ForwardLeaks, leak => Assert.Equal(leak.ChangedSample ^ 1, leak.AffectedSample));
        Assert.Contains(report.GradientLeaks, leak => (leak.AffectedSample, leak.ChangedSample) == (0, 1));
    }

    [Fact]
    public void Transpose_before_reshape_is_caught_and_named()
    {
        using var model = PlantedModels.WithBug("scramble", new TransposeThenReshape());

        var report = BatchLeakageChecker.Check(model, Batch());

        Assert.True(report.HasLeak);
        Assert.Equal("scramble", report.FirstLeakingLayer?.Name);
        Assert.NotEmpty(report.GradientLeaks);
    }

    [Fact]
    public void Concatenating_the_batch_with_itself_rolled_along_the_batch_dimension_is_caught_and_named()
    {
        using var model = PlantedModels.WithBug("neighbours", new ConcatRolledBatch());

        var report = BatchLeakageChecker.Check(model, Batch());

        Assert.True(report.HasLeak);
        Assert.Equal(new LeakingLayer("neighbours", nameof(ConcatRolledBatch)), report.FirstLeakingLayer);
        // roll(1, 0) hands sample j to row j + 1.
        Assert.Contains((1, 0), report.LeakingPairs);
        Assert.Contains((0, 7), report.LeakingPairs);
    }

    [Fact]
    public void Mixing_in_a_modules_own_code_is_attributed_to_that_module_before_the_next_child_call()
    {
        using var model = new MixesBetweenChildren();

        var report = BatchLeakageChecker.Check(model, Batch());

        Assert.True(report.HasLeak);
        Assert.Equal(new LeakingLayer("(model)", nameof(MixesBetweenChildren), BeforeCalling: "fc2"), report.FirstLeakingLayer);
        Assert.Contains("before it calls fc2", report.ToString());
    }

    [Fact]
    public void A_mixing_child_called_with_forward_is_named_as_the_first_leaking_layer()
    {
        using var model = new ForwardStyleWithMixingChild();

        var report = BatchLeakageChecker.Check(model, Batch());

        Assert.True(report.HasLeak);
        Assert.Equal(new LeakingLayer("centre", nameof(SubtractBatchMean)), report.FirstLeakingLayer);
    }

    [Fact]
    public void The_check_puts_back_the_children_it_routed_through_call()
    {
        using var model = new ForwardStyleWithMixingChild();
        var centre = model.Centre;

        BatchLeakageChecker.Check(model, Batch());

        Assert.Same(centre, model.Centre);
    }

    [Fact]
    public void A_child_called_with_forward_from_a_concretely_typed_field_is_reported_as_not_traced()
    {
        using var model = new ForwardStyleWithConcreteField();

        var report = BatchLeakageChecker.Check(model, Batch());

        Assert.True(report.HasLeak);
        Assert.Contains(report.Notes, note => note.Contains("centre (SubtractBatchMean, held in a field of type SubtractBatchMean)")
                                               && note.Contains(".call(...)"));
    }

    [Fact]
    public void Coupling_visible_only_in_gradients_is_caught_by_the_backward_check()
    {
        using var model = PlantedModels.WithBug("coupling", new GradientOnlyCoupling());

        var report = BatchLeakageChecker.Check(model, Batch());

        Assert.Empty(report.ForwardLeaks);
        Assert.True(report.HasLeak);
        // The output of sample 1 reads sample 0's input through the roll.
        Assert.Contains(report.GradientLeaks, leak => (leak.AffectedSample, leak.ChangedSample) == (2, 1));
    }

    [Fact]
    public void Integer_inputs_are_perturbed_within_their_range_and_gradients_are_skipped_with_a_note()
    {
        using var model = nn.Sequential(
            ("embed", nn.Embedding(10, 4)),
            ("flat", nn.Flatten()),
            ("head", nn.Linear(5 * 4, PlantedModels.Classes)));

        var report = BatchLeakageChecker.Check(model, randint(0, 10, [BatchSize, 5], ScalarType.Int64));

        Assert.False(report.HasLeak, report.ToString());
        Assert.False(report.GradientsChecked);
        Assert.Contains(report.Notes, note => note.Contains("only floating-point inputs have gradients"));
    }

    [Fact]
    public void Model_is_left_exactly_as_found()
    {
        using var model = PlantedModels.CnnWithBatchNorm();
        model.train();
        var batchNorm = (BatchNorm2d)model.named_modules().Single(m => m.name == "bn").module;
        var runningMean = batchNorm.running_mean!.clone();
        var tracked = batchNorm.num_batches_tracked!.item<long>();
        var batch = randn(BatchSize, 3, 8, 8);
        var randomState = random.get_rng_state();

        BatchLeakageChecker.Check(model, batch);

        Assert.True(model.training);
        Assert.True(batchNorm.training);
        Assert.True(batchNorm.running_mean!.eq(runningMean).all().item<bool>());
        Assert.Equal(tracked, batchNorm.num_batches_tracked!.item<long>());
        Assert.True(random.get_rng_state().eq(randomState).all().item<bool>());
        Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.IsInvalid));
    }

    [Fact]
    public void Eval_mode_model_stays_in_eval_mode()
    {
        using var model = PlantedModels.CnnWithBatchNorm();
        model.eval();

        var report = BatchLeakageChecker.Check(model, randn(BatchSize, 3, 8, 8));

        Assert.Empty(report.LayersPutInEvalMode);
        Assert.All(model.modules(), m => Assert.False(m.training));
    }

    [Fact]
    public void Report_text_names_the_pairs_and_the_layer()
    {
        using var model = PlantedModels.WithBug("fold", new FoldBatchIntoFeatures());

        var text = BatchLeakageChecker.Check(model, Batch()).ToString();

        Assert.StartsWith("Batch leakage FOUND", text);
        Assert.Contains("(1 ← 0", text);
        Assert.Contains("fold (FoldBatchIntoFeatures)", text);
    }

    [Fact]
    public void A_single_sample_batch_is_refused_with_an_explanation()
    {
        using var model = PlantedModels.Mlp();

        var error = Assert.Throws<ArgumentException>(() => BatchLeakageChecker.Check(model, randn(1, PlantedModels.Features)));
        Assert.Contains("at least two samples", error.Message);
    }

    [Fact]
    public void Output_without_a_batch_dimension_is_refused_with_an_explanation()
    {
        using var model = nn.Sequential(("fc", nn.Linear(PlantedModels.Features, 1)), ("flat", nn.Flatten(0)));
        using var summed = new SumOverBatch(model);

        var error = Assert.Throws<ArgumentException>(() => BatchLeakageChecker.Check(summed, Batch()));
        Assert.Contains("one output per sample", error.Message);
    }

    private sealed class SumOverBatch(nn.Module<Tensor, Tensor> inner) : nn.Module<Tensor, Tensor>(nameof(SumOverBatch))
    {
        public override Tensor forward(Tensor x) => inner.call(x).sum();
    }
}
