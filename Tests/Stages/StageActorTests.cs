using Akka.Actor;
using Akka.TestKit.Xunit2;
using TrainManager.Actors;
using TrainManager.Stages;
using TrainManager.Testing;

namespace TrainManager.Tests.Stages;

/// <summary>Stages run inside an actor; extensions can be hosted as actors (blocking or observing).</summary>
public sealed class StageActorTests : ExtensionTestKit
{
    private sealed class GatedRoutine : Extensible
    {
        public readonly ManualResetEventSlim InBatch = new();
        public readonly ManualResetEventSlim Release = new();
        public int Run()
        {
            using (Staged("fit"))
            using (Staged("epoch", ("epoch", 0)))
            {
                for (var b = 0; b < 3; b++)
                    using (Staged("batch", ("batch_index", b)))
                        if (b == 2)
                        {
                            InBatch.Set();
                            Release.Wait(TimeSpan.FromSeconds(10));
                        }
            }
            return 7;
        }
    }

    // 13
    [Fact]
    public async Task The_stage_actor_answers_status_with_the_live_stage_path_while_the_routine_runs()
    {
        var routine = new GatedRoutine();
        var runner = new StageRunner<GatedRoutine>(Sys, routine);
        var result = runner.RunAsync("fit", r => r.Run());
        Assert.True(routine.InBatch.Wait(TimeSpan.FromSeconds(10)));

        await AwaitAssertAsync(async () =>
        {
            var status = await runner.StatusAsync();
            Assert.Equal("fit/epoch/batch", status.StagePath);
            Assert.Equal("InStage(batch)", status.State);
            Assert.Equal(3, status.Counters["batch"]);
            Assert.Equal(3, status.Path[^1].Instance);
        });

        routine.Release.Set();
        Assert.Equal(7, await result);
        var idle = await runner.StatusAsync();
        Assert.Equal("Idle", idle.State);
        Assert.Empty(idle.Path);
    }

    [Fact]
    public async Task A_routine_failure_reaches_the_caller_of_the_stage_actor()
    {
        var runner = new StageRunner<GatedRoutine>(Sys, new GatedRoutine());
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            runner.RunAsync<int>("boom", _ => throw new InvalidOperationException("no")));
        Assert.Equal("Idle", (await runner.StatusAsync()).State);
    }

    // 14: observing
    private sealed class SlowObserver : Extension
    {
        public readonly List<int> Seen = new();
        public int Ended;
        public override ExtensionHosting Hosting => ExtensionHosting.Observing;
        public void PostBatch(int batchIndex)
        {
            Thread.Sleep(20);
            lock (Seen) Seen.Add(batchIndex);
        }
        public override void OnRoutineEnd() => Ended++;
    }

    [Fact]
    public void An_observer_never_holds_up_the_stage_gets_every_message_in_order_and_is_flushed_at_the_end()
    {
        var observer = new SlowObserver();
        var driver = Drive(observer);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using (driver.Enter("fit"))
        {
            for (var b = 0; b < 10; b++) driver.Run("batch", ("batch_index", b));
            // Ten 20 ms hooks did not run on this thread.
            Assert.True(watch.ElapsedMilliseconds < 150, $"the routine waited {watch.ElapsedMilliseconds} ms for the observer");
        }
        // Leaving the outermost stage flushes: everything has been handled.
        Assert.Equal(Enumerable.Range(0, 10), observer.Seen);
        Assert.Equal(1, observer.Ended);
    }

    private sealed class DroppingObserver : Extension
    {
        public int Seen;
        public readonly ManualResetEventSlim Gate = new();
        public override ExtensionHosting Hosting => ExtensionHosting.Observing;
        public override BacklogPolicy Backlog => new(2, BacklogOverflow.DropNewest);
        public void PostBatch() { Gate.Wait(TimeSpan.FromSeconds(10)); Interlocked.Increment(ref Seen); }
    }

    [Fact]
    public void A_full_backlog_with_drop_newest_drops_instead_of_waiting()
    {
        var observer = new DroppingObserver();
        var driver = Drive(observer);
        using (driver.Enter("fit"))
        {
            for (var b = 0; b < 6; b++) driver.Run("batch");
            observer.Gate.Set();
        }
        Assert.Equal(2, observer.Seen);
    }

    private sealed class TensorObserver : Extension
    {
        public float Sum;
        public override ExtensionHosting Hosting => ExtensionHosting.Observing;
        public void PostBatch(TorchSharp.torch.Tensor loss)
        {
            Thread.Sleep(50);
            Sum += loss.sum().item<float>();
        }
    }

    [Fact]
    public void A_tensor_handed_to_an_observer_stays_valid_after_the_routine_disposes_it()
    {
        var observer = new TensorObserver();
        var driver = Drive(observer);
        using (driver.Enter("fit"))
            for (var b = 0; b < 3; b++)
                using (var scope = TorchSharp.torch.NewDisposeScope())
                    driver.Run("batch", ("loss", TorchSharp.torch.ones(4)));
        Assert.Equal(12f, observer.Sum);
    }

    // 14: blocking
    private sealed class BlockingScaler : Extension
    {
        public int ThreadId;
        public override ExtensionHosting Hosting => ExtensionHosting.Blocking;
        public void PreBatch(double lr, FixtureWriter fixtures)
        {
            ThreadId = Environment.CurrentManagedThreadId;
            fixtures.Add("scaled_lr", lr * 2);
        }
    }

    [Fact]
    public void A_blocking_actor_hook_runs_on_its_actor_and_its_fixture_changes_apply_before_the_stage_goes_on()
    {
        var scaler = new BlockingScaler();
        var driver = Drive(scaler);
        double seen = 0;
        driver.Run("batch", [("lr", 0.25)], f => seen = f.Get<double>("scaled_lr"));
        Assert.Equal(0.5, seen);
        Assert.NotEqual(Environment.CurrentManagedThreadId, scaler.ThreadId);
    }

    private sealed class ObserverWithWriter : Extension
    {
        public override ExtensionHosting Hosting => ExtensionHosting.Observing;
        public void PreBatch(FixtureWriter fixtures) { }
    }

    [Fact]
    public void An_observer_cannot_take_a_fixture_writer()
    {
        var e = Assert.Throws<HookRegistrationException>(() => Drive(new ObserverWithWriter()));
        Assert.Contains("observing", e.Message);
    }

    // The actors of hosted extensions live as long as their routine.
    private sealed class CountingObserver : Extension
    {
        public int Seen;
        public override ExtensionHosting Hosting => ExtensionHosting.Observing;
        public void PostBatch() => Interlocked.Increment(ref Seen);
    }

    private sealed class BlockingNoop : Extension
    {
        public override ExtensionHosting Hosting => ExtensionHosting.Blocking;
        public void PreBatch() { }
    }

    /// <summary>The extension actors alive now; there must be <paramref name="count"/> of them.</summary>
    private IReadOnlyList<IActorRef> ExtensionActors(int count)
    {
        var probe = CreateTestProbe();
        Sys.ActorSelection("/user/extension-*").Tell(new Identify("extension"), probe.Ref);
        var actors = probe.ReceiveN(count, TimeSpan.FromSeconds(5)).Cast<ActorIdentity>().Select(i => i.Subject!).ToList();
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        return actors;
    }

    [Fact]
    public void The_actors_of_hosted_extensions_are_stopped_when_the_routine_ends()
    {
        var driver = Drive(new CountingObserver(), new BlockingNoop());
        IReadOnlyList<IActorRef> actors;
        using (driver.Enter("fit"))
        {
            driver.Run("batch");
            actors = ExtensionActors(2);
        }
        foreach (var actor in actors)
        {
            Watch(actor);
            ExpectTerminated(actor);
        }
    }

    [Fact]
    public void The_actors_of_hosted_extensions_are_stopped_when_the_routine_throws()
    {
        var driver = Drive(new CountingObserver());
        IReadOnlyList<IActorRef> actors = [];
        void FailingRoutine()
        {
            using (driver.Enter("fit"))
            {
                actors = ExtensionActors(1);
                throw new InvalidOperationException("the routine fails");
            }
        }
        Assert.Throws<InvalidOperationException>(FailingRoutine);
        var actor = Assert.Single(actors);
        Watch(actor);
        ExpectTerminated(actor);
    }

    [Fact]
    public void A_second_routine_hosts_its_extensions_on_fresh_actors()
    {
        var observer = new CountingObserver();
        var driver = Drive(observer);
        driver.Run("batch");
        driver.Run("batch");
        Assert.Equal(2, observer.Seen);
    }
}
