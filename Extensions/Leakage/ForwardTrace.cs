using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>What crossed a module boundary during one forward pass: a module's input on entry or its output on exit.</summary>
internal sealed record TraceEvent(bool IsEntry, string ModuleName, string TypeName, string? CallerName, string? CallerTypeName, Tensor Value)
{
    /// <summary>Same place in the same control flow, so the values of two passes can be compared.</summary>
    public bool MatchesPositionOf(TraceEvent other) => IsEntry == other.IsEntry && ModuleName == other.ModuleName;
}

/// <summary>
/// Records, through forward pre- and post-hooks on every single-tensor module, the tensors entering and leaving each
/// module in execution order. Only calls made through <c>call()</c> fire hooks (Sequential does so); children a custom
/// module invokes with <c>forward()</c> are routed through <c>call()</c> by <see cref="ForwardCallRedirect"/> where their
/// field allows it, and are otherwise seen as part of their caller. Values are detached copies owned by the
/// caller's dispose scope, because containers such as Sequential dispose intermediate results.
/// </summary>
internal sealed class ForwardTrace : IDisposable
{
    private readonly List<Action> _removeHooks = [];
    private readonly Stack<(string Name, string TypeName)> _active = new();
    private List<TraceEvent> _events = [];

    private ForwardTrace(nn.Module model)
    {
        var unhooked = new List<string>();
        foreach (var (name, module) in ModuleTree.Named(model))
        {
            if (module is nn.Module<Tensor, Tensor> hookable)
                Hook(name, hookable);
            else
                unhooked.Add($"{name} ({module.GetType().Name})");
        }

        UnhookedModules = unhooked;
    }

    /// <summary>Modules whose forward does not take and return one tensor; their boundaries are not observed.</summary>
    public IReadOnlyList<string> UnhookedModules { get; }

    public static ForwardTrace Attach(nn.Module model) => new(model);

    /// <summary>Runs <paramref name="forward"/> and returns its output with the boundary events it produced.</summary>
    public (Tensor Output, IReadOnlyList<TraceEvent> Events) Run(Func<Tensor, Tensor> forward, Tensor input)
    {
        _events = [];
        _active.Clear();
        var output = forward(input);
        return (output, _events);
    }

    public void Dispose()
    {
        foreach (var remove in _removeHooks)
            remove();
        _removeHooks.Clear();
    }

    private void Hook(string name, nn.Module<Tensor, Tensor> module)
    {
        var typeName = module.GetType().Name;
        var pre = module.register_forward_pre_hook((_, input) =>
        {
            var caller = _active.Count > 0 ? _active.Peek() : default;
            _events.Add(new TraceEvent(true, name, typeName, caller.Name, caller.TypeName, input.detach().clone()));
            _active.Push((name, typeName));
            return input;
        });
        var post = module.register_forward_hook((_, _, output) =>
        {
            if (_active.Count > 0)
                _active.Pop();
            _events.Add(new TraceEvent(false, name, typeName, null, null, output.detach().clone()));
            return output;
        });
        _removeHooks.Add(pre.remove);
        _removeHooks.Add(post.remove);
    }
}
