using BenchmarkDotNet.Attributes;
using TrainManager.Stages;

namespace TrainManager.Bench;

/// <summary>
/// The cost of the stage engine itself: entering and leaving a stage (undeclared, and declared: checked against
/// the extensible's stage tree), a blocking in-process hook with three injected fixtures, and an observing (actor)
/// extension, per stage.
/// </summary>
[MemoryDiagnoser]
public class StageBenchmarks
{
    private const int HooksPerStage = 10;

    public sealed class ThreeFixtures : Extension
    {
        public double Total;
        public void PreHooked(int step, double loss, string phase) => Total += step + loss + phase.Length;
    }

    public sealed class Observer : Extension
    {
        public long Seen;
        public override ExtensionHosting Hosting => ExtensionHosting.Observing;
        public void PreObserved(int step, double loss, string phase) => Seen++;
    }

    public sealed class Routine : Extensible
    {
        public Routine(params Extension[] extensions) : base(extensions) { }
        public StageScope Outer() => Staged("outer", ("step", 1), ("loss", 0.5), ("phase", "train"));
        public void Empty() { using (Staged("empty")) { } }
        public void Hooked() { using (Staged("hooked")) { } }
        public void Observed() { using (Staged("observed")) { } }
    }

    /// <summary>The same stages with a declared tree: entering one and defining its fixtures is checked against it.</summary>
    public sealed class DeclaredRoutine : Extensible
    {
        private static readonly StageTree Stages = new StageTree()
            .Stage("outer", o => o.Entry<int>("step").Entry<double>("loss").Entry<string>("phase")
                .Stage("empty")
                .Stage("with_fixture", w => w.Entry<int>("batch_index")));
        protected override StageTree DeclareStages() => Stages;
        public StageScope Outer() => Staged("outer", ("step", 1), ("loss", 0.5), ("phase", "train"));
        public void Empty() { using (Staged("empty")) { } }
        public void WithFixture() { using (Staged("with_fixture", ("batch_index", 3))) { } }
    }

    private Routine _routine = null!;
    private StageScope _outer;
    private DeclaredRoutine _declared = null!;
    private StageScope _declaredOuter;

    [GlobalSetup]
    public void Setup()
    {
        var extensions = Enumerable.Range(0, HooksPerStage).Select(_ => (Extension)new ThreeFixtures()).Append(new Observer());
        _routine = new Routine(extensions.ToArray());
        _outer = _routine.Outer();
        _declared = new DeclaredRoutine();
        _declaredOuter = _declared.Outer();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _declaredOuter.Dispose();
        _outer.Dispose();
    }

    [Benchmark(Baseline = true, Description = "enter+leave a stage, no hooks")]
    public void EnterLeave() => _routine.Empty();

    [Benchmark(OperationsPerInvoke = HooksPerStage, Description = "per hook call, 3 fixtures (10 hooks/stage)")]
    public void HookCall() => _routine.Hooked();

    [Benchmark(Description = "enter+leave a declared stage (checked against the tree), no hooks")]
    public void EnterLeaveDeclared() => _declared.Empty();

    [Benchmark(Description = "enter+leave a declared stage with one entry fixture (checked)")]
    public void EnterLeaveDeclaredWithFixture() => _declared.WithFixture();

    [Benchmark(Description = "enter+leave a stage with one observing extension")]
    public void ObservedStage() => _routine.Observed();
}
