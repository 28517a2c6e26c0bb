using System.Net.Sockets;
using TrainManager.Distributed;
using TrainManager.Experiments;
using TrainManager.Node.GradientExchange.InProcess;
using TrainManager.Node.GradientExchange.Ring;
using TrainManager.Node.Workers;
using TrainManager.Protocol;

namespace TrainManager.Node.GradientExchange;

/// <summary>
/// Builds a rank's <see cref="IGradientTransport"/> from its collective assignment and the experiment's
/// <c>data-parallel.transport</c>: the one place that knows which transports there are. Every rank decides alone, from
/// the same experiment and the same endpoints, so all ranks of a run pick the same transport.
/// </summary>
public static class GradientTransports
{
    /// <summary>The transport a run uses: the experiment's choice, or for <c>auto</c> in-process when every rank's
    /// endpoint is one of this process's slots (<paramref name="local"/>), the ring otherwise.</summary>
    /// <exception cref="TransportRefusedException">The experiment asks for in-process but some ranks are elsewhere.</exception>
    public static string Choose(string configured, CollectiveAssignment assignment, InProcessExchanges local)
    {
        var elsewhere = local.RanksElsewhere(assignment.Endpoints);
        return configured switch
        {
            DataParallelSection.AutoTransport => elsewhere.Count == 0 ? InProcessExchange.TransportName : RingAllReduce.TransportName,
            RingAllReduce.TransportName => RingAllReduce.TransportName,
            InProcessExchange.TransportName when elsewhere.Count == 0 => InProcessExchange.TransportName,
            InProcessExchange.TransportName => throw new TransportRefusedException(
                $"data-parallel.transport = in-process needs every worker in one process, but rank(s) {string.Join(", ", elsewhere)} of " +
                $"{assignment.WorldSize} were placed in another one. Set data-parallel.transport = auto (or ring) to train across processes."),
            _ => throw new TransportRefusedException(
                $"data-parallel.transport = \"{configured}\" is not a transport this node knows ({string.Join(", ", ExperimentSchema.AllowedValues("data-parallel.transport"))})."),
        };
    }

    /// <summary>Forms this rank's transport; blocks until every rank has joined it.</summary>
    /// <exception cref="ExchangeFormationException">The ranks did not meet (a peer is gone or never came): the run
    /// should re-form, nothing is wrong with it.</exception>
    /// <exception cref="TransportRefusedException">The experiment's transport cannot serve this placement.</exception>
    public static IGradientTransport Connect(CollectiveAssignment assignment, Experiment experiment, RingListener? listener,
        WorkerSettings settings, CancellationToken cancel)
    {
        var transport = Choose(experiment.DataParallel.Transport, assignment, settings.InProcess);
        var connectTimeout = settings.RingConnectTimeout ?? WorkerSettings.DefaultRingConnectTimeout;
        try
        {
            if (transport == InProcessExchange.TransportName)
            {
                var options = new InProcessOptions
                {
                    BucketBytes = experiment.DataParallel.BucketBytes,
                    OperationTimeout = experiment.DataParallel.Timeout,
                    ConnectTimeout = connectTimeout,
                };
                return settings.InProcess.Join(Convert.ToHexString(assignment.Secret), assignment.Rank, assignment.WorldSize, options, cancel);
            }
            if (listener is null)
                throw new InvalidOperationException("This slot has no data endpoint, so it cannot be a rank of a data-parallel run over the ring.");
            var ringOptions = new RingOptions
            {
                BucketBytes = experiment.DataParallel.BucketBytes,
                OperationTimeout = experiment.DataParallel.Timeout,
                ConnectTimeout = connectTimeout,
            };
            var peers = assignment.Endpoints.Select((endpoint, rank) => DataEndpoints.Resolve(endpoint, rank)).ToList();
            var membership = new RingMembership(assignment.Rank, assignment.WorldSize, peers, assignment.Secret);
            return RingAllReduce.ConnectAsync(membership, listener, ringOptions, cancel).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is TimeoutException or RingHandshakeException or SocketException or OperationCanceledException
                                      or DataEndpointException or InProcessExchangeBrokenException)
        {
            throw new ExchangeFormationException(
                $"rank {assignment.Rank} of {assignment.WorldSize} could not form its {transport} gradient exchange: {FailureText.Describe(e)}", e);
        }
    }
}

/// <summary>The ranks of a data-parallel run could not form their gradient exchange (a peer is gone, or never came).</summary>
public sealed class ExchangeFormationException(string message, Exception inner) : Exception(message, inner);

/// <summary>The experiment's <c>data-parallel.transport</c> cannot serve where its workers were placed: bad input.</summary>
public sealed class TransportRefusedException(string message) : Exception(message), IBadInput;
