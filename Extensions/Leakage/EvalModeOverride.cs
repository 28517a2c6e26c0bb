using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>
/// Switches to eval mode, for the duration of a check, the layers whose training-mode behaviour would make any
/// per-sample comparison meaningless, and restores each one's own training flag afterwards.
/// </summary>
internal sealed class EvalModeOverride : IDisposable
{
    private readonly List<nn.Module> _switched = [];

    private EvalModeOverride(nn.Module model)
    {
        var layers = new List<LayerPutInEvalMode>();
        foreach (var (name, module) in ModuleTree.Named(model))
        {
            if (!module.training || ReasonFor(module) is not { } reason)
                continue;
            module.eval();
            _switched.Add(module);
            layers.Add(new LayerPutInEvalMode(name, module.GetType().Name, reason));
        }

        Layers = layers;
    }

    public IReadOnlyList<LayerPutInEvalMode> Layers { get; }

    public static EvalModeOverride Apply(nn.Module model) => new(model);

    public void Dispose()
    {
        foreach (var module in _switched)
            module.train(true);
    }

    private static string? ReasonFor(nn.Module module) => module switch
    {
        // Training-mode batch norm normalises with the batch's own statistics: by design every sample affects every other.
        BatchNorm => "normalises with batch statistics in training mode, which legitimately mixes samples",
        // A fresh random mask per forward pass would make every comparison between two passes differ.
        Dropout or Dropout1d or Dropout2d or Dropout3d or AlphaDropout or FeatureAlphaDropout =>
            "draws a new random mask on every pass in training mode, so two passes cannot be compared",
        _ => null,
    };
}
