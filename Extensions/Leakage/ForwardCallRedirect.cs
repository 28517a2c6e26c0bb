using System.Reflection;
using static TorchSharp.torch;

namespace TrainManager.Extensions.Leakage;

/// <summary>
/// Makes children invoked with <c>.forward(...)</c> visible to <see cref="ForwardTrace"/>: only <c>call()</c> fires
/// hooks, so each child a model holds in a field is swapped, for the check, for a stand-in whose forward goes through
/// the child's <c>call()</c>. Children invoked with <c>call()</c> see no difference (the stand-in adds no hooks of its
/// own). A field whose declared type is the child's concrete type (<c>Linear fc1</c>) cannot hold the stand-in; those
/// children are listed in <see cref="Unwrappable"/>. Every field is put back on Dispose.
/// </summary>
internal sealed class ForwardCallRedirect : IDisposable
{
    private readonly List<(object Owner, FieldInfo Field, object Original, CallingStandIn StandIn)> _swapped = [];
    private readonly List<(string Name, string Description)> _unwrappable = [];

    private ForwardCallRedirect(nn.Module model)
    {
        var names = new Dictionary<nn.Module, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, module) in ModuleTree.Named(model))
            names[module] = name;
        foreach (var owner in names.Keys)
        {
            foreach (var field in UserFields(owner.GetType()))
            {
                if (field.GetValue(owner) is not nn.Module<Tensor, Tensor> child || ReferenceEquals(child, owner)
                    || !names.TryGetValue(child, out var childName))
                    continue;
                if (field.FieldType.IsAssignableFrom(typeof(CallingStandIn)))
                {
                    var standIn = new CallingStandIn(child);
                    field.SetValue(owner, standIn);
                    _swapped.Add((owner, field, child, standIn));
                }
                else
                    _unwrappable.Add((childName, $"{childName} ({child.GetType().Name}, held in a field of type {field.FieldType.Name})"));
            }
        }
    }

    /// <summary>Children the stand-in could not replace: (module name, description for a report).</summary>
    public IReadOnlyList<(string Name, string Description)> Unwrappable => _unwrappable;

    public static ForwardCallRedirect Apply(nn.Module model) => new(model);

    public void Dispose()
    {
        foreach (var (owner, field, original, standIn) in _swapped)
        {
            field.SetValue(owner, original);
            standIn.Dispose();
        }
        _swapped.Clear();
    }

    /// <summary>The instance fields a model's own classes declare; TorchSharp's classes keep theirs (a Sequential calls its
    /// children with call() already).</summary>
    private static IEnumerable<FieldInfo> UserFields(Type type)
    {
        const BindingFlags Declared = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        for (var t = type; t is not null && t.Assembly != typeof(nn.Module).Assembly; t = t.BaseType)
            foreach (var field in t.GetFields(Declared))
                if (typeof(nn.Module).IsAssignableFrom(field.FieldType) || field.FieldType.IsAssignableFrom(typeof(CallingStandIn)))
                    yield return field;
    }

    /// <summary>Stands in a field for a child: its forward is the child's call(), hooks and all.</summary>
    private sealed class CallingStandIn(nn.Module<Tensor, Tensor> child) : nn.Module<Tensor, Tensor>(nameof(CallingStandIn))
    {
        public override Tensor forward(Tensor input) => child.call(input);
    }
}
