using Akka.Configuration;
using TrainManager.Stages;
using Xunit.Abstractions;

namespace TrainManager.Testing;

/// <summary>
/// Base class for testing an extension with Akka's TestKit: drive stages with given fixtures and
/// assert what the hooks did. Blocking and observing extensions are hosted on the TestKit's actor system,
/// so <c>ExpectMsg</c>, probes and <c>AwaitAssert</c> work as usual.
/// </summary>
public abstract class ExtensionTestKit(ITestOutputHelper? output = null)
    : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString("akka.loglevel = WARNING"), output: output)
{
    /// <summary>A driver with these extensions registered, hooks checked at run time only.</summary>
    protected StageDriver Drive(params Extension[] extensions) => new(Sys, null, extensions);

    /// <summary>A driver that declares <paramref name="stages"/>, so registration checks hooks against it.</summary>
    protected StageDriver Drive(StageTree stages, params Extension[] extensions) => new(Sys, stages, extensions);
}
