using TrainManager.Stages;
using TrainManager.Testing;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Stages;

/// <summary>
/// The declared stage tree is the contract extensions rely on: where each fixture is alive (in order), what type it
/// has, and that the routine does what the declaration says.
/// </summary>
public sealed class StageTreeContractTests
{
    private static StageDriver Register(params Extension[] extensions) => new(null, TrainerStages.Tree, extensions);

    // ---- order-aware liveness --------------------------------------------------------------------------------

    private sealed class MetricsBeforeTheBatch : Extension
    {
        public void PreBatch(IReadOnlyDictionary<string, double> metrics) { }
    }

    [Fact]
    public void A_hook_asking_for_a_fixture_defined_only_after_its_stage_is_refused_saying_where_the_fixture_lives()
    {
        var e = Assert.Throws<HookRegistrationException>(() => Register(new MetricsBeforeTheBatch()));
        Assert.Contains("MetricsBeforeTheBatch.PreBatch", e.Message);
        Assert.Contains("'fit/epoch/train/batch'", e.Message);
        Assert.Contains("'metrics' is defined in fit/epoch after train and validate", e.Message);
        Assert.Contains("read it in PostEpoch, PreCheckpoint, PostCheckpoint or PostEvaluate", e.Message);
        Assert.Contains("Alive there: batch_index, batch_size", e.Message);
    }

    [Fact]
    public void An_ancestors_body_fixture_is_alive_only_in_the_child_stages_that_come_after_it()
    {
        var epoch = Assert.Single(TrainerStages.Tree.Find("epoch"));
        var train = epoch.Children.Single(c => c.Name == "train");
        var checkpoint = epoch.Children.Single(c => c.Name == "checkpoint");

        Assert.DoesNotContain("metrics", train.AliveAt(HookPhase.Post));
        Assert.Contains("metrics", checkpoint.AliveAt(HookPhase.Pre));
        Assert.Contains("metrics", epoch.AliveAt(HookPhase.Post));
    }

    [Fact]
    public void A_fixture_kept_by_an_enclosing_stage_is_alive_after_the_stage_that_defines_it()
    {
        var batch = TrainerStages.Tree.Find("batch").Single();
        StageNode Child(string name) => batch.Children.Single(c => c.Name == name);

        Assert.DoesNotContain("prediction", Child("forward").AliveAt(HookPhase.Pre));
        Assert.Contains("prediction", Child("forward").AliveAt(HookPhase.Post));
        Assert.Contains("prediction", Child("loss").AliveAt(HookPhase.Pre));
        Assert.Contains("loss", Child("backward").AliveAt(HookPhase.Pre));
        Assert.Contains("loss", batch.AliveAt(HookPhase.Post));
    }

    private sealed class OptionalMetricsBeforeTheBatch : Extension
    {
        public void PreBatch(IReadOnlyDictionary<string, double>? metrics = null) { }
    }

    [Fact]
    public void An_optional_parameter_may_ask_for_a_fixture_that_is_not_alive_at_its_stage()
    {
        var driver = Register(new OptionalMetricsBeforeTheBatch());
        Assert.Single(driver.Extensions);
    }

    // ---- fixture types ---------------------------------------------------------------------------------------

    private sealed class LossAsDouble : Extension
    {
        public void PostBatch(double loss) { }
    }

    [Fact]
    public void A_hook_parameter_of_a_type_the_fixture_does_not_have_is_refused_saying_what_to_write()
    {
        var e = Assert.Throws<HookRegistrationException>(() => Register(new LossAsDouble()));
        Assert.Contains("LossAsDouble.PostBatch", e.Message);
        Assert.Contains("parameter 'loss' is double", e.Message);
        Assert.Contains("declared Tensor", e.Message);
        Assert.Contains("Write 'Tensor loss'", e.Message);
        Assert.Contains("loss.item<float>()", e.Message);
    }

    private sealed class WidensAndGeneralises : Extension
    {
        public void PreFit(long epochs, nn.Module model, object device) { }
        public void PreBatch(float learningRate, long? batchIndex) { }
    }

    [Fact]
    public void A_parameter_may_read_a_fixture_as_a_base_type_or_as_a_number_of_another_width()
    {
        var driver = Register(new WidensAndGeneralises());
        Assert.Single(driver.Extensions);
    }

    private sealed class MetricsAsDictionary : Extension
    {
        public void PostEpoch(Dictionary<string, double> metrics) { }
    }

    [Fact]
    public void A_parameter_of_a_type_narrower_than_the_declared_one_is_refused()
    {
        var e = Assert.Throws<HookRegistrationException>(() => Register(new MetricsAsDictionary()));
        Assert.Contains("Write 'IReadOnlyDictionary<string, double> metrics'", e.Message);
    }

    [Fact]
    public void The_printed_tree_gives_every_fixture_its_type_where_it_comes_among_the_child_stages()
    {
        var printed = TrainerStages.Tree.ToString();
        Assert.Contains("batch  (batch_index: int, step: long, inputs: Tensor, targets: Tensor, sample_indices: long[], learning_rate: double)", printed);
        Assert.Contains("prediction: Tensor (kept by batch)", printed);
        Assert.Contains("run_dir: string?", printed);
        var validate = printed.IndexOf("    validate", StringComparison.Ordinal);
        var metrics = printed.IndexOf("    + metrics: IReadOnlyDictionary<string, double>", StringComparison.Ordinal);
        var checkpoint = printed.IndexOf("    checkpoint", StringComparison.Ordinal);
        Assert.True(validate < metrics && metrics < checkpoint, printed);
    }

    // ---- the routine is held to its declaration --------------------------------------------------------------

    private sealed class Declared : Extensible
    {
        protected override StageTree DeclareStages() => new StageTree()
            .Stage("fit", f => f
                .Stage("epoch", e => e.Entry<int>("epoch")
                    .Stage("batch", b => b.Entry<int>("batch_index").Body<double>("loss")))
                .Body<string>("summary"));

        public void Run(Action body)
        {
            using (Staged("fit")) body();
        }

        public void Enter(string stage, params (string, object?)[] fixtures) { using (Staged(stage, fixtures)) { } }

        public void Batch(Action body)
        {
            using (Staged("epoch", ("epoch", 0)))
            using (Staged("batch", ("batch_index", 0)))
                body();
        }
    }

    [Fact]
    public void Entering_a_stage_where_the_tree_does_not_declare_it_fails_at_once()
    {
        var routine = new Declared();
        var e = Assert.Throws<StageTreeMismatchException>(() => routine.Run(() => routine.Enter("batch", ("batch_index", 0))));
        Assert.Contains("enters stage 'batch' inside 'fit'", e.Message);
        Assert.Contains("declared there: epoch", e.Message);
    }

    [Fact]
    public void Defining_a_fixture_in_a_stage_that_does_not_declare_it_fails_at_once()
    {
        var routine = new Declared();
        var e = Assert.Throws<StageTreeMismatchException>(() => routine.Run(() => routine.Batch(() => routine.Fixtures["summary"] = "done")));
        Assert.Contains("defines fixture 'summary' in stage 'fit/epoch/batch'", e.Message);
        Assert.Contains("'summary' is defined in fit after epoch", e.Message);
    }

    [Fact]
    public void Defining_a_fixture_with_a_value_of_another_type_than_declared_fails_at_once()
    {
        var routine = new Declared();
        var e = Assert.Throws<StageTreeMismatchException>(() => routine.Run(() => routine.Batch(() => routine.Fixtures["loss"] = 0.5f)));
        Assert.Contains("fixture 'loss' in stage 'fit/epoch/batch' with a float", e.Message);
        Assert.Contains("says it is double", e.Message);
    }

    [Fact]
    public void A_routine_that_follows_its_declaration_runs()
    {
        var routine = new Declared();
        routine.Run(() =>
        {
            routine.Batch(() => routine.Fixtures["loss"] = 0.5);
            routine.Fixtures["summary"] = "done";
        });
        Assert.Equal(0, routine.Engine.Depth);
    }

    [Fact]
    public void A_test_driver_may_enter_declared_stages_anywhere_but_not_give_a_fixture_another_type()
    {
        var driver = new StageDriver(null, TrainerStages.Tree);
        using (driver.Enter("fit"))
        {
            driver.Run("batch", [("batch_index", 0)], f => f["loss"] = tensor(0.5f));
            var e = Assert.Throws<StageTreeMismatchException>(() => driver.Run("batch", [("batch_index", 1)], f => f["loss"] = 0.5));
            Assert.Contains("says it is Tensor", e.Message);
        }
    }
}
