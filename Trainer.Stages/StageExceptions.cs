namespace TrainManager.Stages;

/// <summary>A fixture was defined while one of the same name was still alive.</summary>
public sealed class FixtureRedefinedException(string fixture, string ownerStage, string currentStage)
    : InvalidOperationException(
        $"Fixture '{fixture}' is already alive: it was defined in stage '{ownerStage}' and is being defined " +
        $"again in stage '{currentStage}'. Use a different name, or call Fixtures.Replace(\"{fixture}\", value) " +
        "to update it deliberately.")
{
    public string Fixture { get; } = fixture;
    public string OwnerStage { get; } = ownerStage;
    public string CurrentStage { get; } = currentStage;
}

/// <summary>A hook or stage asked for a fixture that is not alive.</summary>
public sealed class FixtureNotFoundException(string fixture, string requester, string stagePath, IReadOnlyList<string> alive)
    : InvalidOperationException(
        $"{requester} asks for fixture '{fixture}', which is not alive in stage '{stagePath}'. " +
        $"Available: {(alive.Count == 0 ? "(none)" : string.Join(", ", alive))}. " +
        "Check the name, or make the parameter optional (give it a default) if the fixture is not always there.")
{
    public string Fixture { get; } = fixture;
    public string StagePath { get; } = stagePath;
    public IReadOnlyList<string> Alive { get; } = alive;
}

/// <summary>A fixture's value does not fit the type of the hook parameter that receives it.</summary>
public sealed class FixtureTypeMismatchException(string fixture, string requester, Type expected, Type actual)
    : InvalidOperationException(
        $"{requester} declares fixture '{fixture}' as {expected.Name}, but the fixture holds a {actual.Name}. " +
        $"Change the parameter type to {actual.Name} (or a type it converts to).")
{
    public string Fixture { get; } = fixture;
    public Type Expected { get; } = expected;
    public Type Actual { get; } = actual;
}

/// <summary>An extension could not be registered: a hook names an unknown stage, asks for a fixture
/// that is never alive there, or has a parameter the engine cannot supply.</summary>
public sealed class HookRegistrationException(string message) : InvalidOperationException(message);

/// <summary>A routine strayed from the stage tree its extensible declares: it entered a stage the tree does not
/// declare there, or defined a fixture the tree does not declare there or with a value of another type.</summary>
public sealed class StageTreeMismatchException(string message) : InvalidOperationException(message);

/// <summary>A fixture update that the caller may not make (replacing a fixture that is not replaceable by it).</summary>
public sealed class FixtureReplaceDeniedException(string message) : InvalidOperationException(message);

/// <summary>A hook threw. Carries the extension, the hook and the stage path; the hook's exception is inner.</summary>
public sealed class HookFailedException(string extension, string hook, string stagePath, Exception inner)
    : Exception($"Hook {extension}.{hook} failed in stage '{stagePath}': {inner.Message}", inner)
{
    public string Extension { get; } = extension;
    public string Hook { get; } = hook;
    public string StagePath { get; } = stagePath;
}

/// <summary>What extensions are told, once, when a routine fails.</summary>
public sealed record StageFailure(string StagePath, string? Extension, string? Hook, Exception Exception);
