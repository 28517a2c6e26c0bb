using static TorchSharp.torch;

namespace TrainManager.Runtime;

/// <summary>
/// The state of torch's default CPU generator, read and written through a generator handle this code owns.
/// TorchSharp's <c>torch.random.get_rng_state()</c> and <c>set_rng_state()</c> reach the generator through a temporary
/// wrapper (<c>Generator.Default</c> makes a new one each time) that nothing keeps alive: a collection on another
/// thread can free its handle while libtorch reads it, and the process dies in <c>at::Generator::get_state</c>.
/// </summary>
public static class CpuRandomState
{
    /// <summary>A copy of the state (a byte tensor the caller owns).</summary>
    public static Tensor Get()
    {
        using var generator = Generator.Default;
        return generator.get_state();
    }

    public static void Set(Tensor state)
    {
        using var generator = Generator.Default;
        generator.set_state(state);
    }

    /// <summary>Seeds the default generator (as <c>torch.manual_seed</c>), releasing the handle TorchSharp returns.</summary>
    public static void Seed(long seed) => manual_seed(seed).Dispose();

    /// <summary>Held while a routine seeds the default generator and draws from it what must follow from the seed
    /// alone (a model's initial weights): ranks of one run built at once in one process would otherwise interleave
    /// their draws, and what each starts from would depend on thread timing.</summary>
    public static readonly Lock Gate = new();
}
