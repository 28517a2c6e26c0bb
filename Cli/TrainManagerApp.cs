using Spectre.Console;
using Spectre.Console.Cli;
using TrainManager.Components;
using TrainManager.Extensions;

namespace TrainManager.Cli;

/// <summary>The <c>trainmanager</c> command line: its verbs, help, and exit codes (see <see cref="ExitCodes"/>).</summary>
public static class TrainManagerApp
{
    /// <summary>The configured app, writing to <paramref name="console"/> (tests pass one that records).</summary>
    /// <param name="components">The components experiments may name besides their own project's: the built-ins by default.</param>
    public static CommandApp Create(IAnsiConsole console, ComponentCatalog? components = null)
    {
        ArgumentNullException.ThrowIfNull(console);
        components ??= BuiltInComponents.Catalog();
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("trainmanager");
            config.Settings.Console = console;
            config.Settings.Registrar.RegisterInstance<IAnsiConsole>(console);
            config.Settings.Registrar.RegisterInstance(components);
            config.Settings.CancellationExitCode = ExitCodes.Interrupted;
            // Mistyped command lines (unknown verb or option, missing argument) are bad input, like a bad experiment.
            config.SetExceptionHandler((exception, _) =>
            {
                if (exception is CommandAppException { Pretty: { } pretty })
                    console.Write(pretty);
                else
                {
                    console.Write(new Text(exception.Message, new Style(Color.Red)));
                    console.WriteLine();
                }
                return exception is CommandAppException ? ExitCodes.BadInput : ExitCodes.RunFailed;
            });

            config.AddCommand<TrainCommand>("train")
                .WithDescription("Train the model an experiment file describes, in a new run directory (runs/<run-id>/).")
                .WithExample("train", "examples/fashion-mnist-cnn.hocon")
                .WithExample("train", "examples/fashion-mnist-mlp.hocon", "--set", "epochs=3", "--set", "model.args.hidden=[64]")
                .WithExample("train", "examples/fashion-mnist-cnn.hocon", "--resume", "runs/20250101-120000-fashion-mnist-cnn-1a2b");
            config.AddCommand<NewCommand>("new")
                .WithDescription("Create a training project of your own (a model, a data source, an extension, an experiment and a test), ready to train.")
                .WithExample("new", "MyModels")
                .WithExample("new", "../experiments/MyModels", "--packages", "../trainmanager/artifacts/packages");
            config.AddCommand<EvalCommand>("eval")
                .WithDescription("Evaluate a run's newest checkpoint (or a given checkpoint) on the test split.")
                .WithExample("eval", "runs/20250101-120000-fashion-mnist-cnn-1a2b")
                .WithExample("eval", "runs/20250101-120000-fashion-mnist-cnn-1a2b/checkpoints/epoch-0003-step-000001407.ckpt", "--set", "device=cuda");

            config.AddCommand<KeysCommand>("keys")
                .WithDescription("Print every key an experiment file may hold, with its type, default and meaning (Markdown).")
                .WithExample("keys");

            config.AddBranch("tls", tls =>
            {
                tls.SetDescription("The cluster's certificate authority and its certificates (TLS between machines).");
                tls.AddCommand<Cluster.TlsAuthorityCommand>("ca")
                    .WithDescription("Create the cluster's certificate authority in DIR.")
                    .WithExample("tls", "ca", "/etc/trainmanager/ca");
                tls.AddCommand<Cluster.TlsCertificateCommand>("certificate")
                    .WithDescription("Issue a node's or client's certificate from the cluster CA.")
                    .WithExample("tls", "certificate", "--ca", "/etc/trainmanager/ca", "--host", "10.0.0.7", "node7.pfx");
            });
            config.AddCommand<Cluster.SecretCommand>("secret")
                .WithDescription("Create a new cluster's secret file; every node and client of the cluster needs a copy.")
                .WithExample("secret", "/etc/trainmanager/cluster.secret");
            // The cluster verbs (Cli/Cluster/): each joins the cluster as a short-lived member, asks, and leaves.
            config.AddCommand<Cluster.SubmitCommand>("submit")
                .WithDescription("Submit an experiment to a cluster; it runs on a free worker slot (or waits for one).")
                .WithExample("submit", "examples/fashion-mnist-mlp.hocon", "--cluster", "127.0.0.1:4053", "--follow")
                .WithExample("submit", "examples/fashion-mnist-cnn.hocon", "--cluster", "10.0.0.5:4053", "--set", "epochs=20");
            config.AddCommand<Cluster.StatusCommand>("status")
                .WithDescription("Show the cluster (members, worker slots, runs by status), or one run in detail.")
                .WithExample("status", "--cluster", "127.0.0.1:4053")
                .WithExample("status", "20250101-120000-fashion-mnist-mlp-1a2b", "--cluster", "127.0.0.1:4053");
            config.AddCommand<Cluster.RunsCommand>("runs")
                .WithDescription("List the runs of a cluster, newest first.")
                .WithExample("runs", "--cluster", "127.0.0.1:4053");
            config.AddCommand<Cluster.CancelCommand>("cancel")
                .WithDescription("Cancel a run; a training run stops after its current batch and writes a checkpoint.")
                .WithExample("cancel", "20250101-120000-fashion-mnist-mlp-1a2b", "--cluster", "127.0.0.1:4053");
            config.AddCommand<Cluster.LogsCommand>("logs")
                .WithDescription("Print a run's history from the journal, one event a line.")
                .WithExample("logs", "20250101-120000-fashion-mnist-mlp-1a2b", "--follow", "--cluster", "127.0.0.1:4053");
            config.AddCommand<Cluster.CheckpointsCommand>("checkpoints")
                .WithDescription("List a run's checkpoints: epoch, step, path, SHA-256, metrics.")
                .WithExample("checkpoints", "20250101-120000-fashion-mnist-mlp-1a2b", "--cluster", "127.0.0.1:4053");
            config.AddCommand<CheckLeakageCommand>("check-leakage")
                .WithDescription("Prove on a real batch that the experiment's model does not mix samples (exit code 3 on a leak).")
                .WithExample("check-leakage", "examples/fashion-mnist-cnn.hocon");
            config.AddCommand<ReproduceCommand>("reproduce")
                .WithDescription("Recreate the exact code a run was trained with in DIR and verify its git tree id.")
                .WithExample("reproduce", "runs/20250101-120000-fashion-mnist-cnn-1a2b", "/tmp/code-of-that-run");
        });
        return app;
    }

    /// <summary>Runs one command line and returns its exit code.</summary>
    public static int Run(IReadOnlyList<string> args, IAnsiConsole? console = null, CancellationToken cancellationToken = default) =>
        Create(console ?? AnsiConsole.Console).Run(args, cancellationToken);
}
