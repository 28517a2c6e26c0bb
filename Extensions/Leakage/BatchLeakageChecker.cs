using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>
/// Proves on a real batch that samples do not leak into each other:
/// forward — perturbing sample j changes no other sample's output; backward — the gradient of sample i's output
/// with respect to the input is zero at every other sample. Costs one forward pass per probe plus one clean pass,
/// one forward with autograd, and one gradient per probe. Memory: a copy of every traced module's input and output
/// for the clean pass and for one perturbed pass at a time.
/// <para>
/// Layers that mix the batch by design in training mode (batch norm) or that are random (dropout) are put in eval
/// mode for the check and listed in the report. The model is left exactly as found: training flags, buffers
/// (running statistics) and the global CPU random stream are restored, and parameter gradients are not touched.
/// Because that stream is rewound, nothing else should draw from torch's global CPU generator while a check runs.
/// </para>
/// </summary>
public static class BatchLeakageChecker
{
    /// <param name="model">A model whose forward maps the batch (samples along dimension 0) to per-sample outputs.</param>
    /// <param name="batchInputs">A real batch, at least two samples, on the model's device.</param>
    /// <param name="options">Probe count and tolerances; defaults when null.</param>
    public static LeakageReport Check(nn.Module<Tensor, Tensor> model, Tensor batchInputs, LeakageCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Check(model, model.call, batchInputs, options);
    }

    /// <summary>
    /// For models whose forward is not a single Tensor → Tensor: <paramref name="forward"/> maps the batch to one output
    /// tensor with samples along dimension 0 (e.g. <c>x => model.call(x, mask)</c>); hooks go on <paramref name="model"/>'s modules.
    /// </summary>
    public static LeakageReport Check(nn.Module model, Func<Tensor, Tensor> forward, Tensor batchInputs, LeakageCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(batchInputs);
        options ??= new LeakageCheckOptions();
        options.Validate();
        if (batchInputs.dim() == 0 || batchInputs.shape[0] < 2)
        {
            throw new ArgumentException(
                $"The batch has shape [{string.Join(", ", batchInputs.shape)}]; the leakage check needs at least two samples along dimension 0.",
                nameof(batchInputs));
        }

        var probes = ProbeSelection.Spread(batchInputs.shape[0], options.ProbeCount);

        // Disposed in reverse: temporaries first, then the random stream, training flags and buffers are handed back.
        using var buffers = ModelStateSnapshot.Take(model);
        using var evalMode = EvalModeOverride.Apply(model);
        using var randomness = RandomStateRewind.Capture();
        using var scope = NewDisposeScope();

        var forwardResult = ForwardLeakCheck.Run(model, forward, batchInputs, probes, options, randomness);
        var gradientResult = options.CheckGradients
            ? GradientLeakCheck.Run(forward, batchInputs, probes, options, randomness)
            : new GradientLeakCheck.Result([], false, "gradients not checked: disabled in the options.");

        var notes = new List<string>(forwardResult.Notes);
        if (gradientResult.Note is not null)
            notes.Add(gradientResult.Note);
        if (forwardResult.Leaks.Count == 0 && gradientResult.Leaks.Count > 0)
            notes.Add("outputs do not move but gradients cross samples: look for operations whose backward couples the batch.");

        return new LeakageReport
        {
            BatchSize = (int)batchInputs.shape[0],
            ProbedSamples = probes,
            ForwardLeaks = forwardResult.Leaks,
            GradientLeaks = gradientResult.Leaks,
            GradientsChecked = gradientResult.Checked,
            FirstLeakingLayer = forwardResult.FirstLeakingLayer,
            LayersPutInEvalMode = evalMode.Layers,
            Notes = notes,
        };
    }
}
