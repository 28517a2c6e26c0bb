using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// Accepts a rank's predecessor on its data endpoint. Every connection that arrives gets a handshake of its own,
/// running beside the others and dropped after <see cref="RingOptions.HelloTimeout"/>, while accepting goes on: idle
/// connections, garbage and strangers with another token are shed independently and cannot hold the real
/// predecessor up. The first connection that proves the run token and claims to be the predecessor wins.
/// </summary>
internal sealed class RingAcceptor
{
    /// <summary>Handshakes in progress at most; beyond that the oldest is dropped. An honest handshake takes a few
    /// round trips, so under a flood the oldest ones are the idle ones.</summary>
    public const int MaxPendingHandshakes = 64;

    // Refusals named in a timeout message; a flood must not make it megabytes.
    private const int RefusalsReported = 16;

    private readonly Socket _listener;
    private readonly RingMembership _membership;
    private readonly RingOptions _options;
    private readonly TaskCompletionSource<Socket> _predecessor = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<string> _refused = new();
    private readonly LinkedList<PendingHandshake> _pending = []; // guarded by itself
    private readonly List<Task> _handshakes = []; // guarded by itself
    private int _refusedCount;
    private int _claimed; // 1 once a candidate has been told it is accepted

    private RingAcceptor(Socket listener, RingMembership membership, RingOptions options)
    {
        _listener = listener;
        _membership = membership;
        _options = options;
    }

    /// <exception cref="TimeoutException"><paramref name="deadline"/> passed first; names the refused connections.</exception>
    public static Task<Socket> AcceptPredecessorAsync(Socket listener, RingMembership membership, RingOptions options,
        CancellationToken abort, CancellationToken deadline) =>
        new RingAcceptor(listener, membership, options).RunAsync(abort, deadline);

    private async Task<Socket> RunAsync(CancellationToken abort, CancellationToken deadline)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        var accepting = AcceptLoopAsync(stop.Token);
        var returned = false;
        try
        {
            if (await Task.WhenAny(_predecessor.Task, accepting).ConfigureAwait(false) != _predecessor.Task)
                await accepting.ConfigureAwait(false); // ends only by failing or being cancelled
            returned = true;
            return await _predecessor.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Rank {_membership.Rank} waited in vain for its predecessor rank {_membership.Predecessor} to connect to " +
                $"{(IPEndPoint)_listener.LocalEndPoint!}. Refused: {DescribeRefusals()}.");
        }
        finally
        {
            // The handshakes still running are abandoned; each closes its connection as it ends.
            stop.Cancel();
            await accepting.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            Task[] handshakes;
            lock (_handshakes)
                handshakes = _handshakes.ToArray();
            await Task.WhenAll(handshakes).ConfigureAwait(false);
            if (!returned && _predecessor.Task.IsCompletedSuccessfully)
                _predecessor.Task.Result.Dispose();
        }
    }

    private async Task AcceptLoopAsync(CancellationToken stop)
    {
        while (true)
        {
            var candidate = await _listener.AcceptAsync(stop).ConfigureAwait(false);
            var pending = new PendingHandshake(candidate, stop, _options.HelloTimeout);
            PendingHandshake? evicted = null;
            lock (_pending)
            {
                pending.Node = _pending.AddLast(pending);
                if (_pending.Count > MaxPendingHandshakes)
                {
                    evicted = _pending.First!.Value;
                    _pending.RemoveFirst();
                    evicted.Node = null;
                }
            }
            evicted?.Evict();
            lock (_handshakes)
            {
                _handshakes.RemoveAll(handshake => handshake.IsCompleted);
                _handshakes.Add(HandshakeAsync(pending, stop));
            }
        }
    }

    /// <summary>The accepting side of <see cref="RingHello"/>'s handshake with one candidate; never throws. It keeps
    /// the connection only when the candidate is the predecessor, and closes it otherwise.</summary>
    private async Task HandshakeAsync(PendingHandshake pending, CancellationToken stop)
    {
        var candidate = pending.Socket;
        var remote = candidate.RemoteEndPoint?.ToString() ?? "unknown";
        var cancel = pending.Cancel.Token;
        var kept = false;
        try
        {
            var token = _membership.Token.ToArray();
            var listenerNonce = RandomNumberGenerator.GetBytes(RingHello.NonceBytes);
            await RingHandshake.SendAllAsync(candidate, RingHello.Challenge(listenerNonce), cancel).ConfigureAwait(false);
            var proof = new byte[RingHello.ProofBytes];
            await RingHandshake.ReceiveExactlyAsync(candidate, proof, cancel).ConfigureAwait(false);
            var check = RingHello.CheckProof(proof, token, listenerNonce);
            if (check != ProofCheck.Proven)
            {
                // Nothing more is said to a peer that has not proven the token: the connection just closes.
                Refuse(remote, RingHello.Describe(check));
                return;
            }
            var counterProof = RingHello.CounterProof(token, listenerNonce, RingHello.ConnectorNonce(proof));
            await RingHandshake.SendAllAsync(candidate, counterProof, cancel).ConfigureAwait(false);

            var claims = new byte[RingHello.ClaimsBytes];
            await RingHandshake.ReceiveExactlyAsync(candidate, claims, cancel).ConfigureAwait(false);
            var verdict = RingHello.Judge(claims, _membership);
            if (verdict == RingVerdict.Accepted && Interlocked.CompareExchange(ref _claimed, 1, 0) != 0)
                verdict = RingVerdict.AlreadyConnected;
            try
            {
                await RingHandshake.SendAllAsync(candidate, RingHello.Verdict(verdict, _membership), cancel).ConfigureAwait(false);
            }
            catch when (verdict == RingVerdict.Accepted)
            {
                Volatile.Write(ref _claimed, 0);
                throw;
            }
            if (verdict != RingVerdict.Accepted)
            {
                Refuse(remote, RingHello.Describe(verdict));
                return;
            }
            RingSockets.Tune(candidate, _options);
            kept = _predecessor.TrySetResult(candidate);
        }
        catch (OperationCanceledException) when (pending.Evicted)
        {
            Refuse(remote, $"dropped for newer connections, over {MaxPendingHandshakes} handshakes at once");
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            Refuse(remote, $"did not complete the handshake within {_options.HelloTimeout.TotalSeconds:0.###} s");
        }
        catch (OperationCanceledException)
        {
            // The ring is formed, or forming it failed: this candidate no longer matters.
        }
        catch (Exception e) when (e is SocketException or EndOfStreamException or ObjectDisposedException)
        {
            Refuse(remote, e.Message);
        }
        finally
        {
            lock (_pending)
            {
                if (pending.Node is { } node)
                    _pending.Remove(node);
                pending.Node = null;
            }
            pending.Cancel.Dispose();
            if (!kept)
                candidate.Dispose();
        }
    }

    private void Refuse(string remote, string reason)
    {
        if (Interlocked.Increment(ref _refusedCount) <= RefusalsReported)
            _refused.Enqueue($"{remote} ({reason})");
    }

    private string DescribeRefusals()
    {
        if (_refusedCount == 0)
            return "none";
        var named = string.Join("; ", _refused);
        return _refusedCount > RefusalsReported ? $"{named}; and {_refusedCount - RefusalsReported} more" : named;
    }

    /// <summary>One candidate connection and the deadline of its handshake.</summary>
    private sealed class PendingHandshake(Socket socket, CancellationToken stop, TimeSpan helloTimeout)
    {
        public Socket Socket { get; } = socket;
        public CancellationTokenSource Cancel { get; } = CreateCancel(stop, helloTimeout);
        public LinkedListNode<PendingHandshake>? Node { get; set; }
        private volatile bool _evicted;

        public bool Evicted => _evicted;

        public void Evict()
        {
            _evicted = true;
            try
            {
                Cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Its handshake ended meanwhile.
            }
        }

        private static CancellationTokenSource CreateCancel(CancellationToken stop, TimeSpan helloTimeout)
        {
            var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
            cancel.CancelAfter(helloTimeout);
            return cancel;
        }
    }
}
