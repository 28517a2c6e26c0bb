using System.Runtime.CompilerServices;
using TrainManager.Runtime;

namespace TrainManager.Tests.Torch;

static class TorchModuleInitializer
{
    // Test classes construct TorchSharp modules in constructors and field initialisers, which call native code
    // before any torch static initialiser runs; loading the backend when the test assembly loads covers them all.
#pragma warning disable CA2255 // ModuleInitializer in a library: this is a test assembly, that is the point.
    [ModuleInitializer]
    internal static void Initialize() => TorchRuntime.EnsureLoaded();
#pragma warning restore CA2255
}
