using System.Runtime.CompilerServices;
using TrainManager.Runtime;

namespace TrainManager.Testing;

/// <summary>
/// Loads TorchSharp's native backend as soon as this assembly is first used, so a test project that references the
/// TestKit needs no loader of its own: without it, the first TorchSharp module a test builds fails with
/// DllNotFoundException on machines whose libstdc++ is older than the one TorchSharp asks for.
/// </summary>
/// <remarks>
/// It runs before the first TestKit member runs (a test deriving from <see cref="ExtensionTestKit"/>, a call to
/// <see cref="NativeLifetimeAudit"/>). A test that builds a TorchSharp module before touching any TrainManager type (in
/// a field initializer, say) runs ahead of it, and calls <see cref="TorchRuntime.EnsureLoaded"/> itself first.
/// </remarks>
static class TorchModuleInitializer
{
#pragma warning disable CA2255 // ModuleInitializer in a library: loading the backend for the test assembly is this library's job.
    [ModuleInitializer]
    internal static void LoadTorch() => TorchRuntime.EnsureLoaded();
#pragma warning restore CA2255
}
