namespace TrainManager.Components;

/// <summary>
/// Declares a component an experiment can name by <paramref name="name"/>: a model (a <c>Module&lt;Tensor, Tensor&gt;</c>),
/// a data source (<c>IDataSource</c>), a task (<c>ITrainingTask</c>), an optimizer, a scheduler or an extension
/// (<c>Extension</c>); the kind follows from the type it builds. The built-ins are declared this way too.
/// <para>On a class, its public constructor with the most parameters builds it; on a public static method, that method
/// does. The parameters are the component's settings (kebab-case in the experiment: <c>hiddenSize</c> ↔
/// <c>hidden-size</c>, <c>hidden_size</c> works too), with the C# defaults as their defaults. Settings may be int, long,
/// double, float, bool, string, or arrays of those. A parameter of any other type is a service the framework hands in
/// (e.g. <c>DataContext</c>, <c>ExtensionContext</c>, the console).</para>
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, Inherited = false, AllowMultiple = false)]
public sealed class ComponentAttribute(string name) : Attribute
{
    /// <summary>The name experiments use (<c>type = name</c>), kebab-case.</summary>
    public string Name { get; } = name;

    /// <summary>One line for listings and error messages.</summary>
    public string Description { get; init; } = "";
}
