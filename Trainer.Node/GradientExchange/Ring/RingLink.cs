using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// A rank's two data connections: it only writes to its successor and only reads from its predecessor. One exchange
/// sends a message and receives one at the same time, with non-blocking sockets: waiting in one direction never stops
/// the other, so a ring whose messages exceed the socket buffers cannot deadlock, and no thread-pool thread, task or
/// buffer is allocated per step. Small messages go both ways on the calling thread; a large one is sent by the link's
/// own sender thread while the calling thread receives (and adds), so that each direction has a thread that the
/// system can run whenever its socket is ready, as two plain TCP streams would.
/// </summary>
internal sealed unsafe class RingLink : IDisposable
{
    // Below this a send is one system call into the socket buffer: handing it to another thread would cost more.
    private const int OffloadBytes = 256 * 1024;

    // Received floats are added from here in cache-sized pieces, while the data is still hot.
    private const int ScratchBytes = 128 * 1024;

    // How often a wait wakes to check for cancellation; data arriving ends a wait at once.
    private const int WaitSliceMicroseconds = 100_000;

    private readonly Socket _toSuccessor;
    private readonly Socket _fromPredecessor;
    private readonly long _timeoutTicks;
    private readonly TimeSpan _timeout;
    private readonly byte[] _scratch = new byte[ScratchBytes];
    private readonly List<Socket> _readable = new(1);
    private readonly List<Socket> _writable = new(1);
    private Sender? _sender;

    public RingLink(int rank, int successor, Socket toSuccessor, int predecessor, Socket fromPredecessor, TimeSpan timeout)
    {
        Rank = rank;
        SuccessorRank = successor;
        PredecessorRank = predecessor;
        _toSuccessor = toSuccessor;
        _fromPredecessor = fromPredecessor;
        _timeout = timeout;
        _timeoutTicks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        _toSuccessor.Blocking = false;
        _fromPredecessor.Blocking = false;
    }

    public int Rank { get; }
    public int SuccessorRank { get; }
    public int PredecessorRank { get; }

    /// <summary>Sends <paramref name="send"/> and receives exactly <paramref name="receive"/>.Length bytes.</summary>
    public void Exchange(ReadOnlySpan<byte> send, Span<byte> receive, in RingStep step, CancellationToken cancel) =>
        Pump(send, receive, [], adding: false, step, cancel);

    /// <summary>Sends <paramref name="send"/> and adds the same number of floats as <paramref name="addInto"/> holds,
    /// received from the predecessor, into it.</summary>
    public void ExchangeAdding(ReadOnlySpan<float> send, Span<float> addInto, in RingStep step, CancellationToken cancel) =>
        Pump(MemoryMarshal.AsBytes(send), [], addInto, adding: true, step, cancel);

    public RingBrokenException Broken(int peer, in RingStep step, string reason, Exception? inner = null) =>
        new(Rank, peer, step.ToString(), reason, inner);

    public void Dispose()
    {
        _toSuccessor.Dispose();
        _fromPredecessor.Dispose();
        _sender?.Dispose();
    }

    private void Pump(ReadOnlySpan<byte> send, Span<byte> receiveInto, Span<float> addInto, bool adding, in RingStep step, CancellationToken cancel)
    {
        if (send.Length < OffloadBytes)
        {
            PumpBoth(send, receiveInto, addInto, adding, step, cancel);
            return;
        }
        // The bytes stay pinned until the sender thread is done with them: this thread waits for it before leaving.
        fixed (byte* bytes = send)
        {
            var sender = _sender ??= new Sender(this);
            sender.Start(bytes, send.Length, step, cancel);
            try
            {
                PumpBoth([], receiveInto, addInto, adding, step, cancel);
            }
            catch
            {
                // The ring is broken: closing the outgoing side ends the sender's wait at once, then its own error is moot.
                _toSuccessor.Dispose();
                sender.Finish(rethrow: false);
                throw;
            }
            sender.Finish(rethrow: true);
        }
    }

    private void PumpBoth(ReadOnlySpan<byte> send, Span<byte> receiveInto, Span<float> addInto, bool adding, in RingStep step, CancellationToken cancel)
    {
        var expected = adding ? addInto.Length * sizeof(float) : receiveInto.Length;
        int sent = 0, received = 0, added = 0, carried = 0;
        var lastSend = Stopwatch.GetTimestamp();
        var lastReceive = lastSend;
        while (sent < send.Length || received < expected)
        {
            var progressed = false;
            if (sent < send.Length)
            {
                var n = _toSuccessor.Send(send[sent..], SocketFlags.None, out var error);
                if (error == SocketError.Success)
                {
                    sent += n;
                    lastSend = Stopwatch.GetTimestamp();
                    progressed = true;
                }
                else if (error != SocketError.WouldBlock)
                    throw Broken(SuccessorRank, step, $"sending to it failed ({error})");
            }

            if (received < expected)
            {
                // Adding receives into the scratch buffer behind the 0..3 bytes of a float that arrived split.
                var target = adding
                    ? _scratch.AsSpan(carried, Math.Min(_scratch.Length - carried, expected - received))
                    : receiveInto[received..];
                var n = _fromPredecessor.Receive(target, SocketFlags.None, out var error);
                if (error == SocketError.Success)
                {
                    if (n == 0)
                        throw Broken(PredecessorRank, step, "it closed the connection");
                    received += n;
                    lastReceive = Stopwatch.GetTimestamp();
                    progressed = true;
                    if (adding)
                        (added, carried) = AddReceived(addInto, added, carried + n);
                }
                else if (error != SocketError.WouldBlock)
                    throw Broken(PredecessorRank, step, $"receiving from it failed ({error})");
            }

            if (!progressed)
                Wait(sent < send.Length, received < expected, lastSend, lastReceive, step, cancel);
        }
    }

    /// <summary>Adds the whole floats among the <paramref name="available"/> scratch bytes into the destination and
    /// moves the bytes of a split float to the front of the scratch buffer.</summary>
    private (int Added, int Carried) AddReceived(Span<float> addInto, int added, int available)
    {
        var whole = available / sizeof(float);
        FloatArithmetic.Add(addInto.Slice(added, whole), MemoryMarshal.Cast<byte, float>(_scratch.AsSpan(0, whole * sizeof(float))));
        var carried = available - whole * sizeof(float);
        if (carried > 0)
            _scratch.AsSpan(whole * sizeof(float), carried).CopyTo(_scratch);
        return (added + whole, carried);
    }

    /// <summary>Sends <paramref name="length"/> bytes from <paramref name="bytes"/> on the sender thread, with the same
    /// timeout and cancellation as the calling thread's loop.</summary>
    private void SendAll(byte* bytes, int length, in RingStep step, CancellationToken cancel)
    {
        var sent = 0;
        var lastSend = Stopwatch.GetTimestamp();
        while (sent < length)
        {
            var n = _toSuccessor.Send(new ReadOnlySpan<byte>(bytes + sent, length - sent), SocketFlags.None, out var error);
            if (error == SocketError.Success)
            {
                sent += n;
                lastSend = Stopwatch.GetTimestamp();
            }
            else if (error == SocketError.WouldBlock)
                Wait(sending: true, receiving: false, lastSend, lastReceive: 0, step, cancel);
            else
                throw Broken(SuccessorRank, step, $"sending to it failed ({error})");
        }
    }

    /// <summary>The link's sender thread: one send at a time, handed over and waited for by the thread that pumps the
    /// exchange. It lives as long as the link.</summary>
    private sealed class Sender : IDisposable
    {
        private readonly RingLink _link;
        private readonly Thread _thread;
        private readonly SemaphoreSlim _go = new(0);
        private readonly ManualResetEventSlim _done = new(false);
        private byte* _bytes;
        private int _length;
        private RingStep _step;
        private CancellationToken _cancel;
        private Exception? _failure;
        private volatile bool _disposed;

        public Sender(RingLink link)
        {
            _link = link;
            _thread = new Thread(Loop) { IsBackground = true, Name = $"ring rank {link.Rank} sender" };
            _thread.Start();
        }

        public void Start(byte* bytes, int length, in RingStep step, CancellationToken cancel)
        {
            _bytes = bytes;
            _length = length;
            _step = step;
            _cancel = cancel;
            _failure = null;
            _done.Reset();
            _go.Release();
        }

        /// <summary>Waits until the send is over (it has its own timeout); then its failure, if any, is thrown here.</summary>
        public void Finish(bool rethrow)
        {
            _done.Wait();
            if (rethrow && _failure is { } failure)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        private void Loop()
        {
            while (true)
            {
                _go.Wait();
                if (_disposed)
                {
                    // A send handed over as the link closed must not look done: the exchange fails like any other on a closed link.
                    _failure = _link.Broken(_link.SuccessorRank, _step, "the link was closed");
                    _done.Set();
                    return;
                }
                try
                {
                    _link.SendAll(_bytes, _length, _step, _cancel);
                }
                catch (Exception e)
                {
                    _failure = e is ObjectDisposedException
                        ? _link.Broken(_link.SuccessorRank, _step, "the connection to it was closed", e)
                        : e;
                }
                finally
                {
                    _done.Set();
                }
            }
        }

        public void Dispose()
        {
            _disposed = true;
            _go.Release();
        }
    }

    private void Wait(bool sending, bool receiving, long lastSend, long lastReceive, in RingStep step, CancellationToken cancel)
    {
        var now = Stopwatch.GetTimestamp();
        if (receiving && now - lastReceive > _timeoutTicks)
            throw Broken(PredecessorRank, step, $"nothing arrived from it for {_timeout.TotalSeconds:0.###} s");
        if (sending && now - lastSend > _timeoutTicks)
            throw Broken(SuccessorRank, step, $"it accepted nothing for {_timeout.TotalSeconds:0.###} s");
        cancel.ThrowIfCancellationRequested();

        var deadline = Math.Min(receiving ? lastReceive + _timeoutTicks : long.MaxValue, sending ? lastSend + _timeoutTicks : long.MaxValue);
        var untilDeadline = (deadline - now) * 1_000_000 / Stopwatch.Frequency + 1;
        var microseconds = (int)Math.Clamp(untilDeadline, 1, WaitSliceMicroseconds);
        if (sending && receiving)
        {
            _readable.Clear();
            _readable.Add(_fromPredecessor);
            _writable.Clear();
            _writable.Add(_toSuccessor);
            Socket.Select(_readable, _writable, null, microseconds);
        }
        else if (receiving)
            _fromPredecessor.Poll(microseconds, SelectMode.SelectRead);
        else
            _toSuccessor.Poll(microseconds, SelectMode.SelectWrite);
    }
}
