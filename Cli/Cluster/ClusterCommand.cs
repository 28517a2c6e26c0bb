using Spectre.Console;
using TrainManager.Node.Hosting;
using TrainManager.Cli.Client;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;

namespace TrainManager.Cli.Cluster;

/// <summary>
/// A verb that talks to a running cluster. It joins as a short-lived <c>cli</c> member, does its work, and leaves.
/// A cluster that cannot be reached is exit code <see cref="ExitCodes.ClusterUnavailable"/> with what to do; an answer
/// that refuses the request (unknown run, invalid experiment) is bad input.
/// </summary>
public abstract class ClusterCommand<TSettings>(IAnsiConsole console) : TrainManagerCommand<TSettings>(console)
    where TSettings : ClusterCommandSettings
{
    protected sealed override int Run(TSettings settings, CancellationToken cancellationToken)
    {
        try
        {
            return RunOnCluster(settings, cancellationToken);
        }
        // A malformed --cluster or --config is bad input (exit 2, by the common rule); this is about reaching the cluster.
        catch (Exception e) when (e is ClusterUnavailableException or NodeStartException)
        {
            Console.Write(new Text(e.Message, new Style(Color.Red)));
            Console.WriteLine();
            return ExitCodes.ClusterUnavailable;
        }
        catch (RunNotFoundException e)
        {
            throw new CommandInputException(e.Message);
        }
    }

    protected abstract int RunOnCluster(TSettings settings, CancellationToken cancellationToken);

    /// <summary>Joins the cluster the settings name.</summary>
    protected static ClusterSession Connect(ClusterCommandSettings settings, CancellationToken cancellationToken)
    {
        var seeds = ClusterOverrides.List(settings.Cluster ?? Environment.GetEnvironmentVariable("TRAINMANAGER_CLUSTER"));
        var timeout = settings.Timeout is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        var flags = new ClusterOverrides { SecretFile = settings.SecretFile };
        return ClusterSession.JoinAsync(settings.Config, seeds, timeout, flags, cancellationToken).GetAwaiter().GetResult();
    }

    /// <summary>Asks the coordinator and returns the answer, turning refusals into bad input.</summary>
    protected static T Ask<T>(ClusterSession session, object request, CancellationToken cancellationToken) where T : class =>
        session.AskAsync(request, cancellationToken).GetAwaiter().GetResult() switch
        {
            T answer => answer,
            RunNotFound notFound => throw new CommandInputException(notFound.Reason),
            CancelRefused refused => throw new CommandInputException(refused.Reason),
            SubmitRejected rejected => throw new CommandInputException($"the coordinator refused the experiment: {rejected.Reason}"),
            var other => throw new ClusterUnavailableException(
                $"the coordinator answered {other.GetType().Name} where {typeof(T).Name} was expected: is every node running the same Train Manager version?"),
        };
}
