using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>
/// Forward half of the check: perturb one probe sample at a time and see whether any other sample's output moves;
/// when it does, compare the traced module boundaries of the clean and the perturbed pass to find where mixing starts.
/// </summary>
internal static class ForwardLeakCheck
{
    public sealed record Result(IReadOnlyList<SampleLeak> Leaks, LeakingLayer? FirstLeakingLayer, IReadOnlyList<string> Notes);

    public static Result Run(
        nn.Module model, Func<Tensor, Tensor> forward, Tensor batch, IReadOnlyList<int> probes,
        LeakageCheckOptions options, RandomStateRewind randomness)
    {
        var batchSize = batch.shape[0];
        var notes = new List<string>();
        // Before the hooks: children called with .forward(...) then pass through call() and are traced too.
        using var redirect = ForwardCallRedirect.Apply(model);
        using var trace = ForwardTrace.Attach(model);
        if (trace.UnhookedModules.Count > 0)
            notes.Add($"not traced (forward is not Tensor → Tensor): {string.Join(", ", trace.UnhookedModules)}.");

        using var noGrad = no_grad();
        using var perturbation = new SamplePerturbation(options.Seed, options.NoiseScale);
        randomness.Rewind();
        var (cleanOutput, cleanEvents) = trace.Run(forward, batch);
        if (cleanOutput.dim() == 0 || cleanOutput.shape[0] != batchSize)
        {
            throw new ArgumentException(
                $"The model's output has shape [{string.Join(", ", cleanOutput.shape)}]; the leakage check needs one output per sample " +
                $"along dimension 0 (batch size {batchSize}).", nameof(batch));
        }

        var entered = cleanEvents.Where(e => e.IsEntry).Select(e => e.ModuleName).ToHashSet();
        var unseen = redirect.Unwrappable.Where(u => !entered.Contains(u.Name)).Select(u => u.Description).Distinct().ToList();
        if (unseen.Count > 0)
            notes.Add($"not traced (called with .forward(...) from a field the check cannot redirect): {string.Join(", ", unseen)}; "
                + "mixing inside them is reported at their caller. Call them with .call(...), or declare the field as Module<Tensor, Tensor>, to have them located.");

        var leaks = new List<SampleLeak>();
        (int Position, LeakingLayer Layer)? first = null;
        foreach (var changed in probes)
        {
            using var probeScope = NewDisposeScope();
            randomness.Rewind();
            var (output, events) = trace.Run(forward, perturbation.Perturb(batch, changed));
            var differences = SampleDifference.ChangedSamples(cleanOutput, output, batchSize, options.AbsoluteTolerance, options.RelativeTolerance)
                ?? throw new InvalidOperationException(
                    $"The output shape changed from [{string.Join(", ", cleanOutput.shape)}] to [{string.Join(", ", output.shape)}] when sample " +
                    $"{changed} was perturbed; the check needs a model whose output shape does not depend on input values.");

            var found = OtherSamples(differences, changed).Select(i => new SampleLeak(i, changed, differences[i])).ToList();
            if (found.Count == 0)
                continue;
            leaks.AddRange(found);
            if (FirstMixingEvent(cleanEvents, events, changed, batchSize, options) is { } position && (first is null || position < first.Value.Position))
                first = (position, Describe(events[position]));
        }

        if (leaks.Count > 0 && first is null)
            notes.Add("samples mix, but no traced module boundary shows where; the mixing is in code the hooks do not see.");
        return new Result(leaks, first?.Layer, notes);
    }

    private static int? FirstMixingEvent(
        IReadOnlyList<TraceEvent> clean, IReadOnlyList<TraceEvent> perturbed, int changed, long batchSize, LeakageCheckOptions options)
    {
        for (var position = 0; position < Math.Min(clean.Count, perturbed.Count); position++)
        {
            // Data-dependent control flow: past this point the two passes no longer line up.
            if (!clean[position].MatchesPositionOf(perturbed[position]))
                return null;
            var differences = SampleDifference.ChangedSamples(
                clean[position].Value, perturbed[position].Value, batchSize, options.AbsoluteTolerance, options.RelativeTolerance);
            if (differences is not null && OtherSamples(differences, changed).Any())
                return position;
        }

        return null;
    }

    private static IEnumerable<int> OtherSamples(double[] differences, int changed) =>
        Enumerable.Range(0, differences.Length).Where(i => i != changed && differences[i] > 0);

    /// <summary>
    /// A module whose output mixes is the culprit itself; a module whose input already mixes was handed mixed data by
    /// the code of its caller, between the caller's previous traced call and this one.
    /// </summary>
    private static LeakingLayer Describe(TraceEvent mixing) => mixing.IsEntry
        ? new LeakingLayer(mixing.CallerName ?? "(forward function)", mixing.CallerTypeName ?? "code outside the model", mixing.ModuleName)
        : new LeakingLayer(mixing.ModuleName, mixing.TypeName);
}
