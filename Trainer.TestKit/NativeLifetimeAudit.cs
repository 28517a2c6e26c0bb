using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;

namespace TrainManager.Testing;

/// <summary>A place in compiled code that makes a TorchSharp <see cref="Scalar"/> or <see cref="torch.Generator"/> handle
/// nobody keeps alive, and the call chain to it.</summary>
/// <param name="Method">The method of the audited code, as <c>Type.Method</c>.</param>
/// <param name="Chain">What it calls down to the conversion, outermost first (empty when the method converts itself).</param>
public sealed record UnkeptNativeObject(string Method, IReadOnlyList<string> Chain)
{
    public override string ToString() =>
        Chain.Count == 0 ? $"{Method} makes a Scalar or Generator it does not keep alive (an implicit conversion, or one never disposed)"
                         : $"{Method} calls {string.Join(" → ", Chain)}, which makes a Scalar or Generator it does not keep alive";
}

/// <summary>
/// Reads compiled code (IL) for the pattern that lets libtorch read a freed object: a <see cref="Scalar"/> made by an
/// implicit conversion (<c>x * 0.5</c>, <c>add_(t, alpha: 1 - beta)</c>, or inside a TorchSharp method such as
/// <c>BatchNorm.forward</c> or <c>Tensor.add_(Tensor)</c>) is unreachable as soon as its handle has been read, so a
/// collection on another thread can finalize it while the native call still uses it. Explicit Scalars kept until the
/// call returns (<c>using var half = 0.5.ToScalar();</c>) are not reported.
/// <para>Use it on your own models and extensions: <c>NativeLifetimeAudit.Modules(model)</c> lists the layers whose
/// forward has the pattern, <c>NativeLifetimeAudit.Types(...)</c> the methods of your code.</para>
/// </summary>
public static class NativeLifetimeAudit
{
    static readonly Assembly TorchSharpAssembly = typeof(Scalar).Assembly;
    static readonly ConcurrentDictionary<MethodBase, IReadOnlyList<string>?> Verdicts = new();
    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Every method and constructor declared by <paramref name="types"/> (nested types and compiler-made
    /// closures included) that makes a Scalar implicitly, itself or through TorchSharp.</summary>
    public static IReadOnlyList<UnkeptNativeObject> Types(IEnumerable<Type> types)
    {
        var found = new List<UnkeptNativeObject>();
        foreach (var type in types.SelectMany(WithNested).Distinct())
            foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
            {
                if (method.IsAbstract || method.DeclaringType?.Assembly == TorchSharpAssembly) continue;
                if (Audit(method) is { } chain)
                    found.Add(new UnkeptNativeObject($"{Describe(type)}.{method.Name}", chain));
            }
        return found;
    }

    /// <summary>Every type of <paramref name="assembly"/>; see <see cref="Types"/>.</summary>
    public static IReadOnlyList<UnkeptNativeObject> Assembly(Assembly assembly) => Types(assembly.GetTypes());

    /// <summary>The layers of <paramref name="model"/> (itself included) whose <c>forward</c> makes a Scalar implicitly.</summary>
    public static IReadOnlyList<UnkeptNativeObject> Modules(torch.nn.Module model)
    {
        var found = new List<UnkeptNativeObject>();
        var types = model.modules().Select(m => m.GetType()).Prepend(model.GetType()).Distinct();
        foreach (var type in types)
            foreach (var forward in type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.Name == "forward" && !m.IsAbstract))
                if (Audit(forward) is { } chain)
                    found.Add(new UnkeptNativeObject($"{Describe(type)}.forward", chain));
        return found;
    }

    static IEnumerable<Type> WithNested(Type type) => type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic).SelectMany(WithNested).Prepend(type);

    /// <returns>Null when <paramref name="method"/> is clean; else the chain of calls that ends at an implicit Scalar.</returns>
    static IReadOnlyList<string>? Audit(MethodBase method)
    {
        if (Verdicts.TryGetValue(method, out var known)) return known;
        Verdicts[method] = null; // a cycle counts as clean; the conversion, if any, is found on the way in
        var calls = Calls(method).ToList();
        var inTorchSharp = method.DeclaringType?.Assembly == TorchSharpAssembly;
        // `using var s = x.ToScalar()` disposes through IDisposable.
        var disposes = calls.Any(c => c.Name == nameof(IDisposable.Dispose) &&
            (c.DeclaringType == typeof(Scalar) || c.DeclaringType == typeof(IDisposable) || c.DeclaringType == typeof(torch.Generator)));
        // A factory (Generator.Default, manual_seed) hands what it made to its caller, who owns it from then on.
        var factory = method is MethodInfo { ReturnType: var returned } && (returned == typeof(Scalar) || returned == typeof(torch.Generator));
        // In the audited code every implicit conversion counts (a Dispose beside it is of some other, explicit Scalar),
        // and an explicit Scalar is a deliberate owner (kept in a field, a using, an OwnedScalars). Inside TorchSharp a
        // Scalar made and never disposed in the same method is handed straight to native code with nothing keeping it.
        var unowned = inTorchSharp
            ? (calls.Any(IsImplicitScalar) || calls.Any(IsExplicitScalar) || calls.Any(MakesGenerator)) && !disposes && !factory
            : calls.Any(IsImplicitScalar);
        IReadOnlyList<string>? verdict = null;
        if (unowned)
            verdict = [];
        else
            foreach (var callee in calls)
            {
                // Only TorchSharp is followed: the audited code's own callees are audited on their own.
                if (callee.DeclaringType?.Assembly != TorchSharpAssembly || IsImplicitScalar(callee) || IsExplicitScalar(callee) || MakesGenerator(callee)) continue;
                if (Audit(callee) is { } chain)
                {
                    verdict = [Describe(callee), .. chain];
                    break;
                }
            }
        Verdicts[method] = verdict;
        return verdict;
    }

    static bool IsImplicitScalar(MethodBase method) =>
        method.DeclaringType == typeof(Scalar) && method.Name == "op_Implicit";

    /// <summary>A new generator handle: TorchSharp's <c>Generator.Default</c> makes one on every read.</summary>
    static bool MakesGenerator(MethodBase method) =>
        method.DeclaringType == typeof(torch.Generator) && (method is ConstructorInfo || method.Name == "get_Default");

    static bool IsExplicitScalar(MethodBase method) =>
        method.DeclaringType == typeof(ScalarExtensionMethods) && method.Name.StartsWith("To", StringComparison.Ordinal) &&
        method.Name.EndsWith("Scalar", StringComparison.Ordinal);

    static string Describe(MethodBase method) => $"{Describe(method.DeclaringType!)}.{method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.Name))})";

    static string Describe(Type type) => type.DeclaringType is { } outer ? $"{Describe(outer)}.{type.Name}" : type.Name;

    /// <summary>The methods <paramref name="method"/>'s IL calls (call, callvirt, newobj, ldftn).</summary>
    static IEnumerable<MethodBase> Calls(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException) { yield break; }
        if (il is null) yield break;
        var typeArguments = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            short value = il[i++];
            if (value == 0xFE) value = (short)(0xFE00 | il[i++]);
            if (!OpCodesByValue.TryGetValue(value, out var op)) yield break; // not IL we understand: stop rather than guess
            if (op.OperandType == OperandType.InlineMethod)
            {
                MethodBase? target = null;
                try { target = method.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArguments, methodArguments); }
                catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or FileNotFoundException) { }
                if (target is not null) yield return target;
            }
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
        }
    }
}
