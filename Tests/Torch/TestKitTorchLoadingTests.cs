using System.Reflection;
using System.Runtime.CompilerServices;
using TrainManager.Runtime;
using TrainManager.Testing;

namespace TrainManager.Tests.Torch;

/// <summary>
/// A user's test project references the TestKit and nothing else of ours for loading: the TestKit assembly must load
/// the native backend itself. This test process loads it earlier (its own initializer), so the behaviour cannot be
/// watched here; what is checked is that the TestKit carries a module initializer and that it calls EnsureLoaded.
/// </summary>
public sealed class TestKitTorchLoadingTests
{
    const byte CallOpcode = 0x28;

    [Fact]
    public void The_testkit_has_a_module_initializer_that_loads_the_torch_backend()
    {
        var testKit = typeof(ExtensionTestKit).Assembly;
        var initializers = testKit.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.IsDefined(typeof(ModuleInitializerAttribute)))
            .ToList();

        var called = initializers.SelectMany(m => CalledMethods(m)).ToList();

        Assert.Contains(typeof(TorchRuntime).GetMethod(nameof(TorchRuntime.EnsureLoaded)), called);
    }

    /// <summary>The methods a method body calls directly (the operand of each <c>call</c>), read from its IL.</summary>
    static IEnumerable<MethodBase> CalledMethods(MethodInfo method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray() ?? [];
        for (var i = 0; i + 4 < il.Length; i++)
        {
            if (il[i] != CallOpcode)
                continue;
            MethodBase? callee = null;
            try
            {
                callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, i + 1));
            }
            catch (ArgumentException)
            {
                // Not a call: a byte of some other instruction's operand.
            }
            if (callee is not null)
                yield return callee;
        }
    }
}
