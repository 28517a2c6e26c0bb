namespace TrainManager.Components;

/// <summary>
/// What the entry point hands to components besides their settings: a parameter of a component's constructor whose
/// type is not a setting type is looked up here by its type (the console a progress bar writes to, the run's
/// <see cref="ExtensionContext"/>). Immutable: <see cref="With{T}"/> returns a new set.
/// </summary>
public sealed class ComponentServices : IServiceProvider
{
    private readonly IReadOnlyDictionary<Type, object> _services;

    private ComponentServices(IReadOnlyDictionary<Type, object> services) => _services = services;

    public static ComponentServices Empty { get; } = new(new Dictionary<Type, object>());

    /// <summary>This set plus <paramref name="service"/>, found by <typeparamref name="T"/>.</summary>
    public ComponentServices With<T>(T service) where T : notnull => new(new Dictionary<Type, object>(_services) { [typeof(T)] = service });

    public object? GetService(Type serviceType) =>
        _services.TryGetValue(serviceType, out var exact) ? exact : _services.Values.FirstOrDefault(serviceType.IsInstanceOfType);
}
