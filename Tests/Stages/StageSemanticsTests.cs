using TrainManager.Stages;

namespace TrainManager.Tests.Stages;

/// <summary>The core contract of stages, hooks and fixtures, numbered as in the design.</summary>
public sealed class StageSemanticsTests
{
    private sealed class Recorder : Extension
    {
        private readonly string _name;
        private readonly int _order;
        public readonly List<string> Log;
        public Recorder(string name, List<string> log, int order = 0) { _name = name; Log = log; _order = order; }
        public override string Name => _name;
        public override int Order => _order;
        public void PreStage() => Log.Add($"{_name}.pre");
        public void PostStage() => Log.Add($"{_name}.post");
    }

    private sealed class Host : Extensible
    {
        public Host(params Extension[] extensions) : base(extensions) { }
        public StageScope Enter(string stage, params (string, object?)[] fixtures) => Staged(stage, fixtures);
        public void Run(string stage, params (string, object?)[] fixtures) { using (Staged(stage, fixtures)) { } }
    }

    // 1. names and injection
    private sealed class SnakeCase : Extension
    {
        public int? Seen;
        public void PreMyStage(int varA) => Seen = varA;
    }

    [Fact]
    public void Hook_for_snake_case_stage_receives_fixture_by_camel_case_parameter_name()
    {
        var ext = new SnakeCase();
        new Host(ext).Run("my_stage", ("var_a", 41));
        Assert.Equal(41, ext.Seen);
    }

    private sealed class Optional : Extension
    {
        public double Seen = -1;
        public void PreStage(double learningRate = 0.5) => Seen = learningRate;
    }

    [Fact]
    public void Optional_parameter_takes_its_default_when_the_fixture_is_absent()
    {
        var ext = new Optional();
        new Host(ext).Run("stage");
        Assert.Equal(0.5, ext.Seen);
    }

    private sealed class WantsString : Extension
    {
        public void PreStage(string varA) { }
    }

    [Fact]
    public void Fixture_of_the_wrong_type_is_an_error_naming_both_types()
    {
        var e = Assert.Throws<HookFailedException>(() => new Host(new WantsString()).Run("stage", ("var_a", 3)));
        var mismatch = Assert.IsType<FixtureTypeMismatchException>(e.InnerException);
        Assert.Contains("String", mismatch.Message);
        Assert.Contains("Int32", mismatch.Message);
    }

    // 2. order
    [Fact]
    public void Pre_hooks_run_in_registration_order_and_post_hooks_in_reverse()
    {
        var log = new List<string>();
        new Host(new Recorder("a", log), new Recorder("b", log), new Recorder("c", log)).Run("stage");
        Assert.Equal(["a.pre", "b.pre", "c.pre", "c.post", "b.post", "a.post"], log);
    }

    [Fact]
    public void Explicit_order_overrides_registration_order()
    {
        var log = new List<string>();
        new Host(new Recorder("late", log, order: 10), new Recorder("early", log, order: -10)).Run("stage");
        Assert.Equal(["early.pre", "late.pre", "late.post", "early.post"], log);
    }

    private sealed class SeesEntryFixture : Extension
    {
        public string? Seen;
        public void PreStage(string name) => Seen = name;
    }

    [Fact]
    public void Pre_hooks_run_after_the_fixtures_passed_to_the_stage_exist()
    {
        var ext = new SeesEntryFixture();
        new Host(ext).Run("stage", ("name", "x"));
        Assert.Equal("x", ext.Seen);
    }

    // 3. nesting and repetition
    private sealed class CountsBatches : Extension
    {
        public readonly List<(int Epoch, int Batch)> Seen = new();
        public void PreBatch(int epoch, int batchIndex) => Seen.Add((epoch, batchIndex));
    }

    [Fact]
    public void Stages_nest_and_repeat_with_fresh_fixtures_per_instance()
    {
        var ext = new CountsBatches();
        var host = new Host(ext);
        using (host.Enter("fit"))
            for (var epoch = 0; epoch < 2; epoch++)
                using (host.Enter("epoch", ("epoch", epoch)))
                    for (var b = 0; b < 3; b++)
                        using (host.Enter("batch", ("batch_index", b)))
                            host.Fixtures["loss"] = 1.0 * b; // redefined each instance: no error, fresh fixtures
        Assert.Equal([(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)], ext.Seen);
    }

    // 4. ownership and release
    [Fact]
    public void A_fixture_belongs_to_the_innermost_stage_and_is_released_when_it_exits()
    {
        var host = new Host();
        using (host.Enter("outer"))
        {
            using (host.Enter("inner")) host.Fixtures["temp"] = 1;
            Assert.False(host.Fixtures.IsAlive("temp"));
            var e = Assert.Throws<FixtureNotFoundException>(() => host.Fixtures["temp"]);
            Assert.Equal("temp", e.Fixture);
        }
    }

    [Fact]
    public void Fixtures_are_released_when_the_stage_body_throws()
    {
        var host = new Host();
        Assert.Throws<InvalidOperationException>((Action)(() =>
        {
            using (host.Enter("outer", ("a", 1)))
            using (host.Enter("inner", ("b", 2)))
                throw new InvalidOperationException("boom");
        }));
        Assert.Equal(0, host.Engine.Depth);
        using (host.Enter("again"))
        {
            Assert.Empty(host.Fixtures.Alive);
            host.Fixtures["a"] = 3; // no redefinition error: the old one is gone
        }
    }

    // 5. redefinition
    [Fact]
    public void Defining_a_live_fixture_is_an_error_naming_the_owning_stage()
    {
        var host = new Host();
        using (host.Enter("epoch", ("loss", 1.0)))
        using (host.Enter("batch"))
        {
            var e = Assert.Throws<FixtureRedefinedException>(() => host.Fixtures["loss"] = 2.0);
            Assert.Equal("epoch", e.OwnerStage);
            Assert.Contains("epoch/batch", e.Message);
            Assert.Contains("Replace", e.Message);
        }
    }

    [Fact]
    public void Replace_updates_a_live_fixture_and_keeps_its_owner()
    {
        var host = new Host();
        using (host.Enter("epoch", ("loss", 1.0)))
        {
            using (host.Enter("batch")) host.Fixtures.Replace("loss", 2.0);
            Assert.Equal(2.0, host.Fixtures["loss"]);
        }
    }

    // 6. missing fixture
    private sealed class WantsMissing : Extension
    {
        public void PreBatch(int los) { }
    }

    [Fact]
    public void Asking_for_a_dead_fixture_names_the_hook_the_stage_path_and_the_alive_fixtures()
    {
        var host = new Host(new WantsMissing());
        using var fit = host.Enter("fit", ("model", "m"));
        var e = Assert.Throws<HookFailedException>(() => host.Enter("batch", ("loss", 0.3)));
        var missing = Assert.IsType<FixtureNotFoundException>(e.InnerException);
        Assert.Contains("WantsMissing.PreBatch", missing.Message);
        Assert.Equal("fit/batch", missing.StagePath);
        Assert.Equal(["model", "loss"], missing.Alive);
    }

    // 7. hooks add and replace
    private sealed class AddsAndReplaces : Extension
    {
        public void PreBatch(FixtureWriter fixtures, double lr) => fixtures.Add("scaled_lr", lr * 10);
        public void PostBatch(FixtureWriter fixtures) => fixtures.Replace("scaled_lr", 0.0);
    }

    private sealed class ReadsAdded : Extension
    {
        public double Seen;
        public override int Order => 1;
        public void PreBatch(double scaledLr) => Seen = scaledLr;
    }

    [Fact]
    public void Hooks_add_fixtures_to_the_current_stage_for_later_hooks()
    {
        var reader = new ReadsAdded();
        var host = new Host(new AddsAndReplaces(), reader);
        host.Run("batch", ("lr", 0.1));
        Assert.Equal(1.0, reader.Seen, 6);
    }

    private sealed class ReplacesForeign : Extension
    {
        public void PreBatch(FixtureWriter fixtures) => fixtures.Replace("targets", 0);
    }

    private sealed class DeclaredHost : Extensible
    {
        public DeclaredHost(params Extension[] extensions) : base(extensions) { }
        protected override StageTree DeclareStages() => new StageTree()
            .Stage("fit", f => f.Entry("model")
                .Stage("batch", b => b.Entry("inputs", "targets").Body("loss").Replaceable("inputs")));
        public void Run() { using (Staged("fit", ("model", "m"))) using (Staged("batch", ("inputs", 1), ("targets", 2))) Fixtures["loss"] = 0.5; }
    }

    [Fact]
    public void A_hook_may_not_replace_a_fixture_that_is_not_replaceable_by_it()
    {
        var e = Assert.Throws<HookFailedException>(() => new DeclaredHost(new ReplacesForeign()).Run());
        var denied = Assert.IsType<FixtureReplaceDeniedException>(e.InnerException);
        Assert.Contains("'targets'", denied.Message);
        Assert.Contains("inputs", denied.Message);
    }

    // 8. registration-time validation
    private sealed class TypoStage : Extension { public void PreBach(object inputs) { } }
    private sealed class TypoFixture : Extension { public void PostBatch(double lss) { } }
    private sealed class LossTooEarly : Extension { public void PreBatch(double loss) { } }
    private sealed class LossAfterBatch : Extension { public void PostBatch(double loss, string model) { } }

    [Fact]
    public void Registering_a_hook_for_an_unknown_stage_fails_with_a_suggestion()
    {
        var e = Assert.Throws<HookRegistrationException>(() => new DeclaredHost(new TypoStage()));
        Assert.Contains("'bach'", e.Message);
        Assert.Contains("PreBatch", e.Message);
    }

    [Fact]
    public void Registering_a_hook_asking_for_a_fixture_never_alive_there_fails_with_a_suggestion()
    {
        var e = Assert.Throws<HookRegistrationException>(() => new DeclaredHost(new TypoFixture()));
        Assert.Contains("'lss'", e.Message);
        Assert.Contains("'loss'", e.Message);
        Assert.Contains("fit/batch", e.Message);
    }

    [Fact]
    public void A_body_fixture_is_not_alive_for_pre_hooks_but_is_for_post_hooks()
    {
        Assert.Throws<HookRegistrationException>(() => new DeclaredHost(new LossTooEarly()));
        new DeclaredHost(new LossAfterBatch()).Run(); // ancestors' fixtures and the body's are alive after the batch
    }

    // 9. extensible and control
    private sealed class SkipsOddBatches : Extension
    {
        public void PreBatch(int batchIndex, StageControl control) { if (batchIndex % 2 == 1) control.SkipStage(); }
    }

    private sealed class Trainer : Extensible
    {
        public readonly List<int> Trained = new();
        public Trainer(params Extension[] extensions) : base(extensions) { }
        public void Fit(int batches)
        {
            using var fit = Staged("fit");
            for (var i = 0; i < batches && !StopRequested; i++)
            {
                using var batch = Staged("batch", ("batch_index", i));
                if (batch.Skipped) continue;
                using (var forward = Staged("forward"))
                    if (!forward.Skipped) Trained.Add(i);
            }
        }
    }

    [Fact]
    public void A_hook_can_skip_the_rest_of_a_stage_instance()
    {
        var trainer = new Trainer(new SkipsOddBatches());
        trainer.Fit(5);
        Assert.Equal([0, 2, 4], trainer.Trained);
    }

    private sealed class StopsAtThree : Extension
    {
        public Extensible? Seen;
        public void PostBatch(int batchIndex, StageControl control, Trainer trainer)
        {
            Seen = trainer;
            if (batchIndex == 2) control.StopRoutine("enough");
        }
    }

    [Fact]
    public void A_hook_receives_the_extensible_and_can_stop_the_routine()
    {
        var stopper = new StopsAtThree();
        var trainer = new Trainer(stopper);
        trainer.Fit(10);
        Assert.Same(trainer, stopper.Seen);
        Assert.Equal([0, 1, 2], trainer.Trained);
    }

    // 10. every Nth
    private sealed class EveryThird : Extension
    {
        public readonly List<int> Seen = new();
        [Every(3)] public void PreBatch(int batchIndex) => Seen.Add(batchIndex);
    }

    [Fact]
    public void A_hook_limited_to_every_nth_instance_runs_only_on_those()
    {
        var ext = new EveryThird();
        var trace = new List<string>();
        var trainer = new Trainer(ext);
        trainer.TraceHooks((string line) => trace.Add(line));
        trainer.Fit(7);
        Assert.Equal([0, 3, 6], ext.Seen);
        Assert.Equal(3, trace.Count(l => l.Contains("EveryThird.PreBatch")));
    }

    // 11. failure
    private sealed class FailureCounter : Extension
    {
        public readonly List<StageFailure> Failures = new();
        public override void OnFailure(StageFailure failure) => Failures.Add(failure);
    }

    private sealed class Throws : Extension
    {
        public void PreForward() => throw new ArithmeticException("bad forward");
    }

    [Fact]
    public void A_failing_hook_leaves_with_context_and_extensions_are_notified_once()
    {
        var counter = new FailureCounter();
        var trainer = new Trainer(new Throws(), counter);
        var e = Assert.Throws<HookFailedException>(() => trainer.Fit(3));
        Assert.Equal("Throws", e.Extension);
        Assert.Equal("PreForward", e.Hook);
        Assert.Equal("fit/batch/forward", e.StagePath);
        Assert.IsType<ArithmeticException>(e.InnerException);
        var failure = Assert.Single(counter.Failures);
        Assert.Equal("Throws", failure.Extension);
        Assert.Equal(0, trainer.Engine.Depth);
    }

    [Fact]
    public void An_exception_from_stage_code_notifies_once_and_carries_the_stage_path()
    {
        var counter = new FailureCounter();
        var host = new Host(counter);
        var e = Assert.Throws<DivideByZeroException>((Action)(() =>
        {
            using (host.Enter("fit"))
            using (host.Enter("batch"))
                throw new DivideByZeroException();
        }));
        Assert.Equal("fit/batch", e.Data["TrainManager.StagePath"]);
        Assert.Single(counter.Failures);
        Assert.Empty(host.Fixtures.Alive);
    }

    private sealed class PostRecorder : Extension
    {
        public int Posts;
        public void PostBatch() => Posts++;
    }

    [Fact]
    public void Post_hooks_do_not_run_for_a_stage_that_failed()
    {
        var post = new PostRecorder();
        var host = new Host(post);
        Assert.Throws<InvalidOperationException>((Action)(() => { using (host.Enter("batch")) throw new InvalidOperationException(); }));
        host.Run("batch");
        Assert.Equal(1, post.Posts);
    }

    [Fact]
    public void An_exception_caught_inside_the_stage_body_does_not_fail_the_stage()
    {
        var post = new PostRecorder();
        var counter = new FailureCounter();
        var host = new Host(post, counter);
        using (host.Enter("batch"))
        {
            try { throw new InvalidOperationException("handled by the body"); }
            catch (InvalidOperationException) { }
        }
        Assert.Equal(1, post.Posts);
        Assert.Empty(counter.Failures);
    }

    // 12. trace
    [Fact]
    public void The_trace_shows_which_hooks_ran_in_which_order_for_which_stage()
    {
        var trace = new List<string>();
        var log = new List<string>();
        var host = new Host(new Recorder("a", log), new Recorder("b", log));
        host.TraceHooks((string line) => trace.Add(line));
        host.Run("stage");
        Assert.Equal(
            ["stage#1 enter", "stage#1 pre  a.PreStage", "stage#1 pre  b.PreStage", "stage#1 post b.PostStage", "stage#1 post a.PostStage", "stage#1 exit"],
            trace);
    }

    [Fact]
    public void Hooks_that_return_a_value_are_refused_at_registration()
    {
        var e = Assert.Throws<HookRegistrationException>(() => new Host(new ReturnsValue()));
        Assert.Contains("NotAHook", e.Message);
    }

    private sealed class ReturnsValue : Extension { public int PreStage() => 1; }

    [Fact]
    public void The_seed_example_prints_before_and_after_with_both_fixtures()
    {
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        try { new SeedExtensible().MyExtensibleMethod(); }
        finally { Console.SetOut(previous); }
        Assert.Equal($"Before the stage{Environment.NewLine}After the stage: 1, 2{Environment.NewLine}", output.ToString());
    }

    private sealed class Announce : Extension
    {
        public void PreStage(int varA) => Console.WriteLine("Before the stage");
        public void PostStage(int varA, int varB) => Console.WriteLine($"After the stage: {varA}, {varB}");
    }

    private sealed class SeedExtensible : Extensible
    {
        public SeedExtensible() : base(new Announce()) { }
        public void MyExtensibleMethod()
        {
            using (Staged("stage", ("var_a", 1)))
                Fixtures["var_b"] = 2;
        }
    }
}
