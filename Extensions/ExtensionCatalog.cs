using System.Text.RegularExpressions;
using Spectre.Console;
using TrainManager.Experiments;
using TrainManager.Extensions.Plots;
using TrainManager.Extensions.Leakage;
using TrainManager.Extensions.Progress;
using TrainManager.Extensions.Provenance;
using TrainManager.Extensions.TensorBoard;
using TrainManager.Extensions.Report;
using TrainManager.Stages;

namespace TrainManager.Extensions;

/// <summary>What an extension factory gets besides its own settings: where the run writes and what it runs.</summary>
/// <param name="RunDirectory">The run's directory (<c>runs/&lt;run-id&gt;/</c>), or null when nothing is recorded (e.g. <c>eval</c>).</param>
public sealed record ExtensionContext(string? RunDirectory, Experiment Experiment)
{
    /// <summary>The run directory, for extensions that write files; fails clearly when there is none.</summary>
    public string RequireRunDirectory(string extension) => RunDirectory
        ?? throw new InvalidOperationException(
            $"Extension '{extension}' writes into the run directory, but this trainer has none; create one with RunDirectory.Create(experiment).");
}

/// <summary>
/// The extension types an experiment file can name in <c>extensions = [ { type = ..., ... } ]</c>: each type name
/// maps to a factory that builds the extension from its settings. Unknown types and (where a type declares its
/// settings) unknown settings are <see cref="ExperimentException"/>s that list what exists.
/// </summary>
public sealed partial class ExtensionCatalog
{
    sealed record Entry(Func<ExtensionSection, ExtensionContext, Extension> Factory, IReadOnlyCollection<string>? Settings);

    readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>
    /// A catalog of the built-in extensions. <paramref name="console"/> is where console extensions (progress)
    /// write; the process console by default.
    /// </summary>
    public static ExtensionCatalog WithBuiltIns(IAnsiConsole? console = null) => new ExtensionCatalog()
        .Register("progress", (section, _) => ProgressExtension.FromSettings(section, console ?? AnsiConsole.Console),
            ProgressExtension.SettingNames)
        .Register("loss-plot", (section, _) => LossPlotExtension.FromSettings(section), LossPlotExtension.SettingNames)
        .Register("gradient-plot", (section, _) => GradientPlotExtension.FromSettings(section), GradientPlotExtension.SettingNames)
        .Register("report", RunReportExtension.FromSettings, RunReportExtension.SettingNames)
        .Register("tensorboard", TensorBoardExtension.FromSettings, TensorBoardExtension.SettingNames)
        .Register("leakage-check", LeakageCheckExtension.FromSettings, LeakageCheckExtension.SettingNames)
        .Register("provenance", ProvenanceExtension.FromSettings, ProvenanceExtension.SettingNames);

    /// <summary>The registered type names, sorted.</summary>
    public IReadOnlyCollection<string> Names => _entries.Keys.Order(StringComparer.Ordinal).ToList();

    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>Adds a type. <paramref name="settings"/>, when given, are the only setting keys the type accepts.</summary>
    /// <exception cref="ArgumentException">The name is not kebab-case, or is taken.</exception>
    public ExtensionCatalog Register(string name, Func<ExtensionSection, ExtensionContext, Extension> factory,
        IReadOnlyCollection<string>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (!TypeName().IsMatch(name))
            throw new ArgumentException($"Extension type '{name}' must be kebab-case (lowercase letters, digits and '-'), e.g. loss-plot.", nameof(name));
        if (!_entries.TryAdd(name, new Entry(factory, settings)))
            throw new ArgumentException($"Extension type '{name}' is already registered; pick another name.", nameof(name));
        return this;
    }

    /// <summary>Builds the extension <paramref name="section"/> names.</summary>
    /// <exception cref="ExperimentException">Unknown type or setting, or settings the factory refuses.</exception>
    public Extension Create(ExtensionSection section, ExtensionContext context)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(context);
        var keyPath = KeyPath(section, context);
        if (!_entries.TryGetValue(section.Type, out var entry))
            throw new ExperimentException(
                $"unknown extension type '{section.Type}'.{DidYouMean.Hint(section.Type, _entries.Keys)} Known types: {string.Join(", ", Names)}.",
                context.Experiment.SourceFile, keyPath: $"{keyPath}.type");
        if (entry.Settings is { } known)
            foreach (var setting in section.Settings.Keys.Where(k => !known.Contains(k)))
                throw new ExperimentException(
                    $"extension '{section.Type}' has no setting '{setting}'.{DidYouMean.Hint(setting, known)} " +
                    (known.Count == 0 ? "It takes no settings." : $"Its settings: {string.Join(", ", known)}."),
                    context.Experiment.SourceFile, keyPath: $"{keyPath}.{setting}");
        try
        {
            return entry.Factory(section, context);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            // A factory refusing its settings is a mistake in the experiment, not a crash: report it as one.
            throw new ExperimentException($"extension '{section.Type}' cannot be created from its settings: {e.Message}",
                context.Experiment.SourceFile, keyPath: keyPath, inner: e);
        }
    }

    /// <summary>Builds every extension the experiment names, in order.</summary>
    public IReadOnlyList<Extension> CreateAll(ExtensionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Experiment.Extensions.Select(section => Create(section, context)).ToList();
    }

    static string KeyPath(ExtensionSection section, ExtensionContext context)
    {
        var sections = context.Experiment.Extensions;
        for (var i = 0; i < sections.Count; i++)
            if (ReferenceEquals(sections[i], section))
                return $"extensions[{i}]";
        return "extensions";
    }

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex TypeName();
}
