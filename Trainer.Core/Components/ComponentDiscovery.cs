using System.Reflection;

namespace TrainManager.Components;

/// <summary>Finds the <see cref="ComponentAttribute"/> declarations of an assembly.</summary>
internal static class ComponentDiscovery
{
    internal static IEnumerable<ComponentDefinition> Find(Assembly assembly) => LoadableTypes(assembly).SelectMany(Declared);

    /// <summary>What one type declares: itself, and its static factory methods.</summary>
    internal static IEnumerable<ComponentDefinition> Declared(Type type)
    {
        if (type.GetCustomAttribute<ComponentAttribute>() is { } onType)
            yield return FromClass(type, onType);
        foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            if (method.GetCustomAttribute<ComponentAttribute>() is { } onMethod)
                yield return FromMethod(method, onMethod);
    }

    static ComponentDefinition FromClass(Type type, ComponentAttribute declared)
    {
        var where = $"[Component(\"{declared.Name}\")] on {type.FullName}";
        if (type.IsAbstract || type.IsGenericTypeDefinition)
            throw new ComponentDeclarationException($"{where}: an abstract or generic class cannot be built; put the attribute on a concrete class.");
        var kind = ComponentKind.Of(type) ?? throw NotAComponent(where, type);
        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new ComponentDeclarationException($"{where}: the class has no public constructor to build it with.");
        return new ComponentDefinition(kind, CheckedName(declared.Name, where), declared.Description, constructor);
    }

    static ComponentDefinition FromMethod(MethodInfo method, ComponentAttribute declared)
    {
        var where = $"[Component(\"{declared.Name}\")] on {method.DeclaringType!.FullName}.{method.Name}";
        if (!method.IsPublic || method.IsGenericMethodDefinition)
            throw new ComponentDeclarationException($"{where}: a factory method must be public, static and not generic.");
        var kind = ComponentKind.Of(method.ReturnType) ?? throw NotAComponent(where, method.ReturnType);
        return new ComponentDefinition(kind, CheckedName(declared.Name, where), declared.Description, method);
    }

    static string CheckedName(string name, string where) =>
        name is { Length: > 0 } && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') && name[0] != '-' && name[^1] != '-'
            ? name
            : throw new ComponentDeclarationException($"{where}: a component name is kebab-case (lowercase letters, digits and '-'), e.g. residual-cnn.");

    static ComponentDeclarationException NotAComponent(string where, Type type) => new(
        $"{where}: {type.Name} is none of the component kinds; a component builds one of: " +
        string.Join(", ", ComponentKind.All.Select(k => $"{k.Builds.Name} ({k})")) + ".");

    /// <summary>The types of an assembly. One that cannot be loaded (a dependency missing, or of another version) would
    /// silently hide the components it declares, so it is an error that says which and why.</summary>
    static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            var reasons = e.LoaderExceptions.OfType<Exception>().Select(x => x.Message).Distinct().Take(3);
            throw new ComponentDeclarationException(
                $"{assembly.GetName().Name} ({assembly.Location}) has types that cannot be loaded: {string.Join(" ", reasons)} " +
                "Does it reference another version of the framework or of TorchSharp than the one running it?");
        }
    }
}
