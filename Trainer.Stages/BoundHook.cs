using System.Linq.Expressions;
using System.Reflection;

namespace TrainManager.Stages;

public enum HookPhase { Pre, Post }

/// <summary>How a hook parameter is supplied.</summary>
public enum HookParameterKind { Fixture, Extensible, Control, Writer }

public sealed record HookParameter(string Name, Type Type, HookParameterKind Kind, string? Fixture, bool IsOptional, object? Default, bool Snapshot);

/// <summary>
/// A hook method resolved once at registration: its stage, phase, parameters and a compiled
/// invoker, so that calling it needs neither reflection nor allocation.
/// </summary>
public sealed class BoundHook
{
    internal delegate void InlineInvoker(Extension extension, StageEngine engine, BoundHook hook);

    public Extension Extension { get; }
    public MethodInfo Method { get; }
    public string Stage { get; }
    public HookPhase Phase { get; }
    public int Every { get; }
    public IReadOnlyList<HookParameter> Parameters { get; }
    public IReadOnlyList<string> Provides { get; }
    public string DisplayName => $"{Extension.Name}.{Method.Name}";

    internal int RegistrationIndex { get; }
    internal int[] FixtureIds { get; }
    internal InlineInvoker Inline { get; }
    internal Func<StageEngine, BoundHook, object?[]> ResolveArguments { get; }
    internal Action<Extension, object?[]> InvokeWithArguments { get; }
    internal FixtureWriter Writer { get; }
    internal IHostedExtension? Host { get; set; }

    internal BoundHook(Extension extension, MethodInfo method, string stage, HookPhase phase, int registrationIndex,
        Type extensibleType, StageEngine engine)
    {
        Extension = extension;
        Method = method;
        Stage = stage;
        Phase = phase;
        RegistrationIndex = registrationIndex;
        Every = method.GetCustomAttribute<EveryAttribute>()?.N ?? 1;
        Provides = method.GetCustomAttributes<ProvidesAttribute>().SelectMany(p => p.Fixtures).ToArray();
        Writer = new FixtureWriter(engine, extension, DisplayName);

        var parameters = method.GetParameters().Select(p => Describe(p, extensibleType)).ToArray();
        Parameters = parameters;
        FixtureIds = parameters.Select(p => p.Fixture is null ? -1 : FixtureKeys.IdOf(p.Fixture)).ToArray();

        if (extension.Hosting == ExtensionHosting.Observing && parameters.Any(p => p.Kind == HookParameterKind.Writer))
            throw new HookRegistrationException(
                $"{DisplayName} takes a {nameof(FixtureWriter)}, but {extension.Name} is an observing extension: " +
                "observers never hold up the stage, so they cannot add or replace fixtures. Make it Blocking or Inline.");

        Inline = CompileInline(method, parameters);
        ResolveArguments = CompileResolver(parameters);
        InvokeWithArguments = CompileArrayInvoker(method, parameters);
    }

    private HookParameter Describe(ParameterInfo p, Type extensibleType)
    {
        var type = p.ParameterType;
        var name = p.Name ?? throw new HookRegistrationException($"{Method.Name} has an unnamed parameter.");
        if (type.IsByRef)
            throw new HookRegistrationException($"{DisplayName}: parameter '{name}' is ref/out; hooks read fixtures by value.");
        if (type == typeof(StageControl)) return new(name, type, HookParameterKind.Control, null, false, null, false);
        if (type == typeof(FixtureWriter)) return new(name, type, HookParameterKind.Writer, null, false, null, false);
        if (typeof(Extensible).IsAssignableFrom(type))
        {
            if (!type.IsAssignableFrom(extensibleType))
                throw new HookRegistrationException(
                    $"{DisplayName}: parameter '{name}' wants a {type.Name}, but the extension is registered on a {extensibleType.Name}.");
            return new(name, type, HookParameterKind.Extensible, null, false, null, false);
        }
        var fixture = StageNaming.ToSnakeCase(name);
        return new(name, type, HookParameterKind.Fixture, fixture, p.HasDefaultValue || p.IsOptional,
            p.HasDefaultValue ? p.DefaultValue : null, p.GetCustomAttribute<SnapshotAttribute>() is not null);
    }

    private static readonly MethodInfo GetFixture = typeof(StageEngine).GetMethod(nameof(StageEngine.GetForHook), BindingFlags.Instance | BindingFlags.NonPublic)!;

    private static Expression Argument(HookParameter p, int index, ParameterExpression engine, ParameterExpression hook) => p.Kind switch
    {
        HookParameterKind.Fixture => Expression.Call(engine, GetFixture.MakeGenericMethod(p.Type), hook, Expression.Constant(index)),
        HookParameterKind.Extensible => Expression.Convert(Expression.Property(engine, nameof(StageEngine.Owner)), p.Type),
        HookParameterKind.Control => Expression.Property(engine, nameof(StageEngine.Control)),
        HookParameterKind.Writer => Expression.Property(hook, nameof(Writer)),
        _ => throw new InvalidOperationException(p.Kind.ToString()),
    };

    private static InlineInvoker CompileInline(MethodInfo method, HookParameter[] parameters)
    {
        var ext = Expression.Parameter(typeof(Extension), "extension");
        var engine = Expression.Parameter(typeof(StageEngine), "engine");
        var hook = Expression.Parameter(typeof(BoundHook), "hook");
        var args = parameters.Select((p, i) => Argument(p, i, engine, hook));
        var call = Expression.Call(Expression.Convert(ext, method.DeclaringType!), method, args);
        return Expression.Lambda<InlineInvoker>(call, ext, engine, hook).Compile();
    }

    private static Func<StageEngine, BoundHook, object?[]> CompileResolver(HookParameter[] parameters)
    {
        var engine = Expression.Parameter(typeof(StageEngine), "engine");
        var hook = Expression.Parameter(typeof(BoundHook), "hook");
        var values = parameters.Select((p, i) => Expression.Convert(Argument(p, i, engine, hook), typeof(object)));
        return Expression.Lambda<Func<StageEngine, BoundHook, object?[]>>(
            Expression.NewArrayInit(typeof(object), values), engine, hook).Compile();
    }

    private static Action<Extension, object?[]> CompileArrayInvoker(MethodInfo method, HookParameter[] parameters)
    {
        var ext = Expression.Parameter(typeof(Extension), "extension");
        var array = Expression.Parameter(typeof(object[]), "arguments");
        var args = parameters.Select((p, i) =>
            Expression.Convert(Expression.ArrayIndex(array, Expression.Constant(i)), p.Type));
        var call = Expression.Call(Expression.Convert(ext, method.DeclaringType!), method, args);
        return Expression.Lambda<Action<Extension, object?[]>>(call, ext, array).Compile();
    }

    public override string ToString() => DisplayName;
}

/// <summary>
/// Where a blocking or observing extension's hook calls go for one routine. The engine knows only this; Trainer.Core
/// hosts each such extension on an actor (<c>TrainManager.Actors.ActorExtensionHosts</c>).
/// </summary>
public interface IExtensionHosts
{
    /// <summary>Starts a host for <paramref name="extension"/>, for one run of a routine.</summary>
    IHostedExtension Start(Extension extension);
}

/// <summary>Where a hosted (actor) extension's hook calls go.</summary>
public interface IHostedExtension
{
    /// <summary>Observing: hand the call over and return at once (subject to the backlog policy). The host makes the
    /// arguments its own (values the routine will release, e.g. native tensors, are taken out of its hands).</summary>
    void Post(BoundHook hook, object?[] arguments);

    /// <summary>Blocking: run the hook and wait; returns the fixture changes it made.</summary>
    IReadOnlyList<FixtureChange> Call(BoundHook hook, object?[] arguments);

    /// <summary>Waits until every call handed over so far has been handled.</summary>
    void Flush();

    void NotifyFailure(StageFailure failure);

    /// <summary>Stops the actor (after <see cref="Flush"/>) and waits until it has stopped.</summary>
    void Stop();
}
