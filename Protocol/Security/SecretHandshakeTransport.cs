using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Akka.Remote.Transport;
using Google.Protobuf;
using TrainManager.Protocol.Configuration;

namespace TrainManager.Protocol.Security;

/// <summary>
/// Akka's TCP transport (DotNetty, TLS included) behind a gate, configured as the remoting transport's
/// <c>transport-class</c>: every connection, in and out, first proves the cluster secret (<see cref="SecretHandshake"/>);
/// only then is it handed to Akka's own protocol. A peer that cannot prove it (an outside node or client, a plain Akka
/// system) is dropped before anything it sent is read as a message: it never becomes a member, and its bytes never
/// reach a serializer. Addresses, framing and TLS are the wrapped transport's.
/// </summary>
public sealed class SecretHandshakeTransport : Transport
{
    /// <summary>Akka's own TCP transport: internal to Akka.Remote, made by name as Akka itself makes it.</summary>
    const string WrappedTransportType = "Akka.Remote.Transport.DotNetty.TcpTransport, Akka.Remote";

    readonly Transport _wrapped;
    readonly byte[] _key;
    readonly TimeSpan _timeout;
    readonly ILoggingAdapter _log;

    /// <summary>The constructor Akka calls for a <c>transport-class</c>.</summary>
    public SecretHandshakeTransport(ActorSystem system, Akka.Configuration.Config config)
    {
        var settings = system.Settings.Config;
        _key = (ClusterSecret.FromConfig(settings)
                ?? throw new ClusterConfigurationException("this actor system has no cluster secret; build its configuration with ClusterConfiguration.Build."))
            .Derive("remoting");
        _timeout = settings.GetTimeSpan("trainmanager.security.handshake-timeout", TimeSpan.FromSeconds(10));
        var type = Type.GetType(WrappedTransportType, throwOnError: true)!;
        _wrapped = (Transport)Activator.CreateInstance(type, system, config)!;
        _log = Logging.GetLogger(system, typeof(SecretHandshakeTransport));
        System = system;
        Config = _wrapped.Config;
        SchemeIdentifier = _wrapped.SchemeIdentifier;
        MaximumPayloadBytes = _wrapped.MaximumPayloadBytes;
    }

    public override bool IsResponsibleFor(Address remote) => _wrapped.IsResponsibleFor(remote);

    public override Task<bool> Shutdown() => _wrapped.Shutdown();

    public override Task<bool> ManagementCommand(object message) => _wrapped.ManagementCommand(message);

    public override async Task<(Address, TaskCompletionSource<IAssociationEventListener>)> Listen()
    {
        var (address, wrappedListener) = await _wrapped.Listen().ConfigureAwait(false);
        var upstream = new TaskCompletionSource<IAssociationEventListener>(TaskCreationOptions.RunContinuationsAsynchronously);
        wrappedListener.TrySetResult(new Gate(this, upstream.Task));
        return (address, upstream);
    }

    public override async Task<AssociationHandle> Associate(Address remoteAddress)
    {
        var handle = await _wrapped.Associate(remoteAddress).ConfigureAwait(false);
        var secured = new SecretHandshake(handle, initiator: true, _key, _timeout, _log);
        try
        {
            await secured.Authenticated.ConfigureAwait(false);
            return secured;
        }
        catch (HandshakeRefusedException e)
        {
            SecurityEvents.For(System).Refused(remoteAddress.ToString(), e.Message);
            throw new InvalidAssociationException($"{remoteAddress} refused: {e.Message}");
        }
    }

    /// <summary>Receives the wrapped transport's inbound connections; hands up only those that proved the secret.</summary>
    sealed class Gate(SecretHandshakeTransport transport, Task<IAssociationEventListener> upstream) : IAssociationEventListener
    {
        public void Notify(IAssociationEvent ev)
        {
            if (ev is not InboundAssociation inbound)
                return;
            var secured = new SecretHandshake(inbound.Association, initiator: false, transport._key, transport._timeout, transport._log);
            _ = HandUp(secured);
        }

        async Task HandUp(SecretHandshake secured)
        {
            try
            {
                await secured.Authenticated.ConfigureAwait(false);
            }
            catch (HandshakeRefusedException e)
            {
                var peer = secured.RemoteAddress.ToString();
                transport._log.Warning("Refused a connection from {0}: {1}", peer, e.Message);
                SecurityEvents.For(transport.System).Refused(peer, e.Message);
                return;
            }
            (await upstream.ConfigureAwait(false)).Notify(new InboundAssociation(secured));
        }
    }
}

/// <summary>A peer did not prove the cluster secret; the message says how.</summary>
public sealed class HandshakeRefusedException(string message) : Exception(message);

/// <summary>
/// One connection's proof, then its traffic. Challenge–response on HMAC-SHA256 with a key derived from the cluster
/// secret; the secret itself never crosses the wire, and fresh nonces from both sides make a recorded exchange useless:
/// <code>
/// initiator → responder   hello      "TMS1" 1  nonce_i
/// responder → initiator   challenge  "TMS1" 2  nonce_r  HMAC(k, "responder" nonce_i nonce_r)
/// initiator → responder   proof      "TMS1" 3           HMAC(k, "initiator" nonce_i nonce_r)
/// </code>
/// Each side checks the other's MAC (in constant time) before it passes a byte up. The initiator hands the connection
/// to Akka once it has checked the responder and sent its proof; the responder once it has checked the proof. Frames
/// that arrive before the layer above has registered its reader are kept, in order, and delivered then.
/// </summary>
sealed class SecretHandshake : AssociationHandle, IHandleEventListener
{
    static readonly byte[] Magic = "TMS1"u8.ToArray();
    const int NonceLength = 32;
    const int MacLength = 32;
    const byte Hello = 1, Challenge = 2, Proof = 3;

    readonly AssociationHandle _wrapped;
    readonly bool _initiator;
    readonly byte[] _key;
    readonly ILoggingAdapter _log;
    readonly TaskCompletionSource _authenticated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Queue<IHandleEvent> _early = new();
    readonly object _gate = new();
    readonly byte[] _ownNonce = RandomNumberGenerator.GetBytes(NonceLength);
    readonly Timer _deadline;
    byte[]? _peerNonce;
    bool _open;
    IHandleEventListener? _upstream;

    public SecretHandshake(AssociationHandle wrapped, bool initiator, byte[] key, TimeSpan timeout, ILoggingAdapter log)
        : base(wrapped.LocalAddress, wrapped.RemoteAddress)
    {
        _wrapped = wrapped;
        _initiator = initiator;
        _key = key;
        _log = log;
        _deadline = new Timer(_ => Refuse($"it proved nothing within {timeout.TotalSeconds:0.#} s"), null, timeout, Timeout.InfiniteTimeSpan);
        ReadHandlerSource.Task.ContinueWith(t => Attach(t.Result), TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously);
        _wrapped.ReadHandlerSource.TrySetResult(this);
        if (initiator)
            _wrapped.Write(Frame(Hello, _ownNonce));
    }

    /// <summary>Completes when the peer has proven the secret; fails with <see cref="HandshakeRefusedException"/>.</summary>
    public Task Authenticated => _authenticated.Task;

    public void Notify(IHandleEvent ev)
    {
        lock (_gate)
        {
            if (_open)
            {
                if (_upstream is null)
                    _early.Enqueue(ev);
                else
                    _upstream.Notify(ev);
                return;
            }
        }
        switch (ev)
        {
            case InboundPayload payload:
                try
                {
                    Step(payload.Payload.Span);
                }
                catch (HandshakeRefusedException e)
                {
                    Refuse(e.Message);
                }
                break;
            case Disassociated or UnderlyingTransportError:
                Fail("it closed the connection before proving the cluster secret (it has another secret, or none)");
                break;
        }
    }

    void Step(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < Magic.Length + 1 || !frame[..Magic.Length].SequenceEqual(Magic))
            throw new HandshakeRefusedException("it is not a Train Manager member with the cluster secret (it sent a message before proving the secret)");
        var kind = frame[Magic.Length];
        var body = frame[(Magic.Length + 1)..];
        switch (kind)
        {
            case Hello when !_initiator && _peerNonce is null && body.Length == NonceLength:
                _peerNonce = body.ToArray();
                _wrapped.Write(Frame(Challenge, [.. _ownNonce, .. Mac("responder", initiatorNonce: _peerNonce, responderNonce: _ownNonce)]));
                break;
            case Challenge when _initiator && _peerNonce is null && body.Length == NonceLength + MacLength:
                _peerNonce = body[..NonceLength].ToArray();
                if (!CryptographicOperations.FixedTimeEquals(body[NonceLength..], Mac("responder", initiatorNonce: _ownNonce, responderNonce: _peerNonce)))
                    throw new HandshakeRefusedException("it does not know this cluster's secret (this node or client has a different secret file than the cluster)");
                _wrapped.Write(Frame(Proof, Mac("initiator", initiatorNonce: _ownNonce, responderNonce: _peerNonce)));
                Open();
                break;
            case Proof when !_initiator && _peerNonce is not null && body.Length == MacLength:
                if (!CryptographicOperations.FixedTimeEquals(body, Mac("initiator", initiatorNonce: _peerNonce, responderNonce: _ownNonce)))
                    throw new HandshakeRefusedException("it does not know this cluster's secret (its secret file differs from the cluster's)");
                Open();
                break;
            default:
                throw new HandshakeRefusedException($"it broke the handshake (step {kind} out of order or malformed)");
        }
    }

    byte[] Mac(string role, byte[] initiatorNonce, byte[] responderNonce) =>
        HMACSHA256.HashData(_key, (byte[])[.. Encoding.ASCII.GetBytes(role), .. initiatorNonce, .. responderNonce]);

    static ByteString Frame(byte kind, byte[] body) => ByteString.CopyFrom([.. Magic, kind, .. body]);

    void Open()
    {
        _deadline.Dispose();
        lock (_gate)
            _open = true;
        _authenticated.TrySetResult();
    }

    void Attach(IHandleEventListener upstream)
    {
        lock (_gate)
        {
            while (_early.TryDequeue(out var ev))
                upstream.Notify(ev);
            _upstream = upstream;
        }
    }

    void Refuse(string reason)
    {
        if (Fail(reason))
            _wrapped.Disassociate($"refused: {reason}", _log);
    }

    bool Fail(string reason)
    {
        _deadline.Dispose();
        return _authenticated.TrySetException(new HandshakeRefusedException(reason));
    }

    public override bool Write(ByteString payload) => _open && _wrapped.Write(payload);

    // Akka calls this through its non-virtual Disassociate(reason, log), which logs the reason first.
    [Obsolete("Akka's own hook; call Disassociate(reason, log).")]
    public override void Disassociate()
    {
        _deadline.Dispose();
        _wrapped.Disassociate("closed by this member", _log);
    }
}

/// <summary>What this member's transport refused lately, so a client can say why it could not join instead of timing out.</summary>
public sealed class SecurityEvents : IExtension
{
    readonly object _gate = new();
    (string Peer, string Reason)? _last;

    public static SecurityEvents For(ActorSystem system) => system.WithExtension<SecurityEvents, SecurityEventsId>();

    public void Refused(string peer, string reason)
    {
        lock (_gate)
            _last = (peer, reason);
    }

    /// <summary>The latest refusal, or null.</summary>
    public (string Peer, string Reason)? LastRefusal
    {
        get
        {
            lock (_gate)
                return _last;
        }
    }

    sealed class SecurityEventsId : ExtensionIdProvider<SecurityEvents>
    {
        public override SecurityEvents CreateExtension(ExtendedActorSystem system) => new();
    }
}
