using System.Reflection;
using TrainManager.Protocol.Configuration;

namespace TrainManager.Tests.Deploy;

/// <summary>
/// Trainer.Node's own <c>NodeCommandLine</c>. The test project builds the node (a project reference that is not
/// referenced as an assembly), so its output sits next to ours, in the same configuration.
/// </summary>
internal sealed class NodeParser(Type commandLine)
{
    readonly MethodInfo _parse = commandLine.GetMethod("Parse", [typeof(IReadOnlyList<string>)])
        ?? throw new MissingMethodException("TrainManager.Node.NodeCommandLine.Parse(IReadOnlyList<string>)");

    public static NodeParser Load()
    {
        var tests = new DirectoryInfo(AppContext.BaseDirectory); // Tests/bin/<Configuration>/<framework>/
        var root = tests.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(root, "Trainer.Node", "bin", tests.Parent.Name, tests.Name, "trainmanager-node.dll");
        Assert.True(File.Exists(path), $"{path} is missing: build the test project, which builds Trainer.Node.");
        return new NodeParser(Assembly.LoadFrom(path).GetType("TrainManager.Node.NodeCommandLine", throwOnError: true)!);
    }

    /// <summary>What <c>--help</c> prints.</summary>
    public string Usage => (string)commandLine.GetField("Usage")!.GetRawConstantValue()!;

    /// <summary>Why the node refuses these arguments, or null when it takes them.</summary>
    public string? Error(IReadOnlyList<string> args)
    {
        try
        {
            _parse.Invoke(null, [args]);
            return null;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            return e.InnerException.Message;
        }
    }

    public (string? ConfigFile, ClusterOverrides Flags) Parse(IReadOnlyList<string> args)
    {
        if (Error(args) is { } error)
            throw new Xunit.Sdk.XunitException($"the node refuses [{string.Join(' ', args)}]: {error}");
        var result = _parse.Invoke(null, [args])!;
        var type = result.GetType();
        return ((string?)type.GetProperty("ConfigFile")!.GetValue(result), (ClusterOverrides)type.GetProperty("Flags")!.GetValue(result)!);
    }
}
