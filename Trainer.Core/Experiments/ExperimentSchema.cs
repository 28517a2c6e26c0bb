using System.Text;

namespace TrainManager.Experiments;

/// <summary>One key an experiment file may hold: its dotted path, the kind of value, its default, what it does.</summary>
/// <param name="Path">Dotted kebab-case path (<c>optimizer.lr</c>); <c>extensions[]</c> stands for each element of that list.</param>
/// <param name="Type">The kind of value, as a reader would say it: a whole number, a number, text, a block, a duration...</param>
/// <param name="Default">What a run uses when the key is absent; null when the key is required.</param>
/// <param name="Description">One line: what the key changes.</param>
/// <param name="Allowed">The values it may take, when they are a fixed set.</param>
public sealed record ExperimentKey(string Path, string Type, string? Default, string Description, IReadOnlyList<string>? Allowed = null)
{
    public bool Required => Default is null;
}

/// <summary>
/// Every key of an experiment file, in the order they are documented: the reader refuses keys that are not here, and the
/// reference table (<see cref="Markdown"/>, <c>trainmanager keys</c>, docs/experiment-keys.md) is printed from here, so
/// the two cannot drift apart. Adding a key is one line here (and reading its value in <see cref="ExperimentReader"/>).
/// </summary>
public static class ExperimentSchema
{
    public static readonly IReadOnlyList<ExperimentKey> Keys =
    [
        new("name", "text", "the file's name", "Names the run; its directory is runs/DATE-NAME-ID."),
        new("seed", "whole number", "42", "Seeds every random choice: initial weights, shuffling, augmentation."),
        new("device", "text", "cpu", "Where the model trains: cpu, cuda (every GPU, one worker each) or \"cuda:N\" (quoted)."),
        new("epochs", "whole number", null, "Passes over the training data (at least 1)."),
        new("batch-size", "whole number", null, "Samples per training batch (per worker in a data-parallel run)."),
        new("eval-batch-size", "whole number", "4 x batch-size", "Samples per evaluation batch."),
        new("threads", "whole number", "0", "libtorch intra-op threads; 0 keeps libtorch's default."),
        new("model", "block", null, "The model to build."),
        new("model.type", "text", null, "A model name from the catalog, e.g. mlp or cnn."),
        new("model.args", "block (free-form)", "{}", "The model's constructor arguments: numbers, booleans, text or lists of those."),
        new("data", "block", null, "The data the model trains and is evaluated on. Keys besides these are the source's own settings (path, label, shape, ...: see the README's Data section)."),
        new("data.type", "text", null, "A data source from the catalog: fashion-mnist, mnist-idx, csv, image-folder, npy, npz, or one of your project's."),
        new("data.dataset", "text (older name)", "data.type", "The older name of data.type."),
        new("data.train-limit", "whole number", "0", "Use only the first N training samples (0 = all): for quick runs and tests."),
        new("data.test-limit", "whole number", "0", "Use only the first N test samples (0 = all)."),
        new("data.validation", "number", "0", "The fraction of the training data held out to validate on each epoch (chosen with the seed); 0 = none, the test split is evaluated instead."),
        new("data.prefetch", "whole number", "2", "Batches read ahead on a background thread for data read lazily from disk; 0 = off."),
        new("task", "block", "classification, accuracy", "What is learned: the loss and the metrics. Keys besides type and metrics are the task's own settings."),
        new("task.type", "text", "classification", "A task name from the catalog: classification, regression, multi-label, or one of your project's."),
        new("task.metrics", "list of text", "the task's first metric", "The metrics reported, e.g. [accuracy, top5, f1-macro] (classification), [mse, mae, r2] (regression)."),
        new("optimizer", "block", "adam with its defaults", "How the weights are updated."),
        new("optimizer.type", "text", "adam", "An optimizer from the catalog: sgd, adam, adamw, or one of your project's."),
        new("optimizer.lr", "number", "0.001", "Learning rate (greater than 0)."),
        new("optimizer.momentum", "number", "0", "Momentum (sgd)."),
        new("optimizer.nesterov", "true or false", "false", "Nesterov momentum (sgd)."),
        new("optimizer.weight-decay", "number", "0", "Weight decay (L2 for sgd and adam, decoupled for adamw)."),
        new("optimizer.beta1", "number", "0.9", "First-moment decay in [0, 1) (adam, adamw)."),
        new("optimizer.beta2", "number", "0.999", "Second-moment decay in [0, 1) (adam, adamw)."),
        new("scheduler", "block", "none", "How the learning rate changes from epoch to epoch."),
        new("scheduler.type", "text", "none", "A schedule from the catalog: none, step, cosine, or one of your project's."),
        new("scheduler.step-size", "whole number", "1", "Epochs between steps (step)."),
        new("scheduler.gamma", "number", "0.1", "Factor applied at each step (step)."),
        new("scheduler.t-max", "whole number", "0", "Cosine period in epochs; 0 = the number of epochs (cosine)."),
        new("scheduler.min-lr", "number", "0", "The lowest learning rate (cosine)."),
        new("gradient-clip", "number", "0", "Clip the global gradient norm to this value; 0 = off."),
        new("accumulate", "whole number", "1", "Accumulate gradients over this many batches before each optimizer step."),
        new("checkpoint", "block", "every epoch, keep 3", "When checkpoints are written and how many are kept."),
        new("checkpoint.every-epochs", "whole number", "1", "Write a checkpoint every N epochs (0 = only at the end)."),
        new("checkpoint.keep", "whole number", "3", "Keep the newest N checkpoints (0 = all); the best one is always kept."),
        new("checkpoint.best", "text", "the task's first metric", "The metric that picks the best checkpoint: loss or one of task.metrics, optionally val_ or test_ prefixed."),
        new("checkpoint.best-mode", "one of", "the metric's own direction", "Whether the best is the highest or the lowest value.", ["max", "min"]),
        new("extensions", "list of blocks", "[]", "The extensions of the run, in order, e.g. [ { type = progress } ]."),
        new("extensions[].type", "text", null, "An extension name (trainmanager lists them when one is unknown); the other keys of the block are its settings."),
        new("workers", "whole number", "1", "Data-parallel workers: N ranks train one model, each on its shard of every epoch."),
        new("data-parallel", "block", "the defaults below", "How a data-parallel run moves gradients and survives the loss of a worker."),
        new("data-parallel.min-workers", "whole number", "1", "The fewest workers the run trains with (at most workers)."),
        new("data-parallel.replacement-wait", "duration", "60 s", "How long a run waits for all its workers before it goes on with fewer."),
        new("data-parallel.bucket-size", "size", "4 MiB", "Bytes of gradients reduced per ring pass (4 bytes to 1 GiB)."),
        new("data-parallel.timeout", "duration", "30 s", "How long a gradient exchange may make no progress before its peer is declared lost."),
        new("data-parallel.transport", "one of", "auto", "How gradients move between workers: ring (TCP between slots, any nodes), in-process (workers in one process share memory), auto (in-process when every worker is in one process, ring otherwise).", ["auto", "ring", "in-process"]),
        new("runs-dir", "text", "runs", "Where run directories are created, relative to the current directory."),
        new("code", "block", "none (built-ins only)", "The training project whose components (models, data sources, tasks, extensions) the experiment names."),
        new("code.project", "text", null, "The project's folder (holding one .csproj) or its .csproj; relative to the experiment file's folder."),
    ];

    /// <summary>The key names directly inside <paramref name="block"/> ("" for the top level), in documented order.</summary>
    public static IReadOnlyList<string> KeysIn(string block)
    {
        ArgumentNullException.ThrowIfNull(block);
        var prefix = block.Length == 0 ? "" : block + ".";
        return Keys.Where(k => k.Path.StartsWith(prefix, StringComparison.Ordinal) && !k.Path[prefix.Length..].Contains('.'))
            .Select(k => k.Path[prefix.Length..])
            .ToList();
    }

    /// <summary>The fixed set of values <paramref name="path"/> may take.</summary>
    public static IReadOnlyList<string> AllowedValues(string path) =>
        Keys.Single(k => k.Path == path).Allowed ?? throw new ArgumentException($"'{path}' has no fixed set of values.", nameof(path));

    /// <summary>The reference of every key as a Markdown document (what docs/experiment-keys.md holds).</summary>
    public static string Markdown()
    {
        var text = new StringBuilder()
            .Append("# Experiment keys\n\n")
            .Append("Every key an experiment file may hold. Generated from `ExperimentSchema` (Trainer.Core/Experiments); ")
            .Append("regenerate with `trainmanager keys > docs/experiment-keys.md`. A key marked *required* has no default.\n\n")
            .Append("| key | value | default | what it does |\n")
            .Append("|---|---|---|---|\n");
        foreach (var key in Keys)
        {
            var type = key.Allowed is { } allowed ? $"{key.Type}: {string.Join(", ", allowed.Select(a => $"`{a}`"))}" : key.Type;
            var fallback = key.Default ?? "*required*";
            text.Append($"| `{key.Path}` | {type} | {fallback} | {Cell(key.Description)} |\n");
        }
        return text.ToString();
    }

    static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
