using Akka.Actor;
using TrainManager.Protocol;
using TrainManager.Protocol.Bundles;

namespace TrainManager.Cli.Client;

/// <summary>
/// Hands a bundle to the coordinator: offers it by name, and when the coordinator does not hold it yet, serves the
/// chunks it pulls (<see cref="BundleTransfer"/>) until it says the bundle is stored and verified. A bundle the coordinator
/// already holds costs one message.
/// </summary>
public static class BundleUpload
{
    /// <returns>How many bytes were sent (0: the coordinator already held it).</returns>
    /// <exception cref="BundleRefusedException">The coordinator refused it; the message says why and what to do.</exception>
    /// <exception cref="ClusterUnavailableException">The coordinator did not answer, or stopped asking for chunks.</exception>
    public static async Task<long> RunAsync(ActorSystem system, IActorRef coordinator, ProjectBundle bundle, BundleRef reference, TimeSpan idleTimeout,
        CancellationToken cancel = default)
    {
        var done = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var uploader = system.ActorOf(Props.Create(() => new UploadActor(coordinator, bundle.Bytes, reference, done, idleTimeout)));
        using var _ = cancel.Register(() =>
        {
            done.TrySetCanceled(cancel);
            uploader.Tell(PoisonPill.Instance);
        });
        return await done.Task switch
        {
            BundleHeld held => held.Uploaded,
            BundleRefused refused => throw new BundleRefusedException(refused.Reason),
            var other => throw new ClusterUnavailableException($"the coordinator answered {other.GetType().Name} to the offer of {reference}"),
        };
    }

    sealed class UploadActor : ReceiveActor
    {
        public UploadActor(IActorRef coordinator, byte[] bytes, BundleRef reference, TaskCompletionSource<object> done, TimeSpan idleTimeout)
        {
            coordinator.Tell(new OfferBundle(reference));
            Context.SetReceiveTimeout(idleTimeout);
            Receive<ReadBundleChunk>(read =>
            {
                if (read.Hash != reference.Hash || BundleTransfer.Clamp(read, bytes.LongLength) is not { } range)
                {
                    Sender.Tell(new BundleUnavailable(read.Hash, $"this client offers bundle {reference.ShortHash} only, {bytes.Length} bytes"));
                    return;
                }
                Sender.Tell(new BundleChunk(reference.Hash, range.Offset, bytes.AsSpan((int)range.Offset, range.Length).ToArray()));
            });
            Receive<BundleHeld>(held => Finish(held));
            Receive<BundleRefused>(refused => Finish(refused));
            Receive<ReceiveTimeout>(_ => Finish(null));
            void Finish(object? answer)
            {
                if (answer is null)
                    done.TrySetException(new ClusterUnavailableException(
                        $"the coordinator stopped answering while taking {reference} ({idleTimeout.TotalSeconds:0} s without a word); submit again (what it has received is kept and the upload goes on from there)."));
                else
                    done.TrySetResult(answer);
                Context.Stop(Self);
            }
        }
    }
}

/// <summary>The coordinator refused a bundle (another framework version, not signed with the cluster's secret, no room).</summary>
public sealed class BundleRefusedException(string message) : Exception(message), TrainManager.Experiments.IBadInput;
