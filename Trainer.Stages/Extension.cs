namespace TrainManager.Stages;

/// <summary>How an extension's hooks are run.</summary>
public enum ExtensionHosting
{
    /// <summary>On the routine's thread, in place: the cheapest; the stage waits for the hook.</summary>
    Inline,
    /// <summary>On the extension's own actor; the stage waits for the reply, so the hook may add or replace fixtures.</summary>
    Blocking,
    /// <summary>On the extension's own actor; the stage never waits. Hooks see values that stay valid for them.</summary>
    Observing,
}

/// <summary>On which ranks of a data-parallel run an extension is registered.</summary>
public enum RankScope
{
    /// <summary>Every rank (the default): extensions that change the batch or control training must see every rank.</summary>
    All,
    /// <summary>Rank 0 only: extensions that write files (plots, events, provenance, reports), so they are written once.</summary>
    RankZero,
}

/// <summary>What an observing extension does when its backlog is full.</summary>
public enum BacklogOverflow
{
    /// <summary>The routine waits until the observer catches up: nothing is lost (the default).</summary>
    Wait,
    /// <summary>The newest message is dropped and counted; training never waits.</summary>
    DropNewest,
}

/// <summary>The bounded backlog of an observing extension.</summary>
public sealed record BacklogPolicy(int Capacity, BacklogOverflow WhenFull)
{
    public static BacklogPolicy Default { get; } = new(10_000, BacklogOverflow.Wait);
}

/// <summary>
/// A plug-in for an <see cref="Extensible"/>. Public methods named <c>Pre&lt;Stage&gt;</c> and
/// <c>Post&lt;Stage&gt;</c> are hooks; their parameters name the fixtures they read
/// (<c>varA</c> reads <c>var_a</c>). A parameter may also be the extensible itself,
/// a <see cref="StageControl"/> or a <see cref="FixtureWriter"/>.
/// </summary>
public abstract class Extension
{
    /// <summary>Explicit order: lower runs earlier in pre hooks and later in post hooks. Ties keep registration order.</summary>
    public virtual int Order => 0;

    /// <summary>Name used in errors and traces.</summary>
    public virtual string Name => GetType().Name;

    public virtual ExtensionHosting Hosting => ExtensionHosting.Inline;

    /// <summary>Which ranks of a data-parallel run register this extension. File writers say <see cref="RankScope.RankZero"/>.</summary>
    public virtual RankScope Ranks => RankScope.All;

    /// <summary>For <see cref="ExtensionHosting.Observing"/>: the backlog bound and what happens when it is reached.</summary>
    public virtual BacklogPolicy Backlog => BacklogPolicy.Default;

    /// <summary>For <see cref="ExtensionHosting.Blocking"/>: how long the stage waits for a hook before failing.</summary>
    public virtual TimeSpan BlockingTimeout => TimeSpan.FromMinutes(5);

    /// <summary>Called once when the routine fails, whichever stage or hook failed.</summary>
    public virtual void OnFailure(StageFailure failure) { }

    /// <summary>Called when the outermost stage ends (after every observer message has been handled).</summary>
    public virtual void OnRoutineEnd() { }
}

/// <summary>Run this hook only on every Nth instance of its stage (1st, N+1th, ...). The other instances pay no call.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class EveryAttribute(int n) : Attribute
{
    public int N { get; } = n > 0 ? n : throw new ArgumentOutOfRangeException(nameof(n), "Every(N) needs N >= 1.");
}

/// <summary>Declares the fixtures a hook adds to its stage, so registration-time checks know they exist.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class ProvidesAttribute(params string[] fixtures) : Attribute
{
    public IReadOnlyList<string> Fixtures { get; } = fixtures;
}

/// <summary>For observing extensions: hand this tensor parameter over as a copy rather than a shared view,
/// for values that the routine changes in place after the hook (parameters, gradients).</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class SnapshotAttribute : Attribute;

/// <summary>Marks a public method whose name starts with Pre/Post as not being a hook.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NotAHookAttribute : Attribute;
