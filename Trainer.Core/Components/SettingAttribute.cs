namespace TrainManager.Components;

/// <summary>
/// Describes one setting of a component (a parameter of its constructor or factory method), for listings, the
/// experiment reference and error messages. <see cref="Default"/> gives a list setting the default C# cannot
/// (<c>[Setting("widths", Default = new[] { 256, 128 })] int[]? hidden = null</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false, AllowMultiple = false)]
public sealed class SettingAttribute(string description = "") : Attribute
{
    public string Description { get; } = description;

    /// <summary>The default when the experiment does not set it; overrides the parameter's C# default.</summary>
    public object? Default { get; init; }
}
