using System.Security.Cryptography;
using Akka.Actor;
using TrainManager.Protocol.Bundles;
using TrainManager.Training;

namespace TrainManager.Protocol.Bundles;

/// <summary>
/// How bundle bytes move between members (<see cref="ReadBundleChunk"/> / <see cref="BundleChunk"/>), the same for a
/// client's upload and a node's download: the receiver pulls. It asks for <see cref="ChunkSize"/> bytes at a time and
/// keeps at most <see cref="Window"/> requests outstanding, so at most a megabyte of one transfer waits on the
/// connection ahead of the cluster's heartbeats, however large the bundle; what arrives is appended to a part file
/// and hashed as it comes, and a transfer that stalls or is cut off resumes from the bytes the part file holds.
/// </summary>
public static class BundleTransfer
{
    public const int ChunkSize = 256 * 1024;
    public const int Window = 4;

    /// <summary>Pulls bundle <paramref name="hash"/> (<paramref name="size"/> bytes) from <paramref name="source"/> into
    /// <paramref name="partFile"/>, continuing from what that file already holds, and checks the whole against the hash.</summary>
    /// <returns>The part file, complete and verified.</returns>
    /// <exception cref="BundleCorruptException">The bytes do not hash to <paramref name="hash"/> (the part file is deleted:
    /// the next try starts over), or the holder sent more than it should.</exception>
    /// <exception cref="BundleTransferException">The holder cannot serve it, went away, or stopped answering.</exception>
    public static Task<string> Download(IActorRefFactory actors, string hash, long size, IActorRef source, string partFile,
        TimeSpan? stallTimeout = null, CancellationToken cancel = default)
    {
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var download = actors.ActorOf(Props.Create(() => new DownloadActor(hash, size, source, partFile, stallTimeout ?? TimeSpan.FromSeconds(20), done)));
        if (cancel.CanBeCanceled)
            cancel.Register(() =>
            {
                if (done.TrySetCanceled(cancel))
                    download.Tell(PoisonPill.Instance);
            });
        return done.Task;
    }

    /// <summary>Serves one bundle from <paramref name="read"/> (offset, length → bytes) to whoever asks.</summary>
    public static Props Server(string hash, long size, Func<long, int, byte[]> read) =>
        Props.Create(() => new ServerActor(hash, size, read));

    /// <summary>The bytes of <paramref name="hash"/> a chunk request asks for: within the bundle and at most a chunk.</summary>
    public static (long Offset, int Length)? Clamp(ReadBundleChunk request, long size) =>
        request.Offset < 0 || request.Offset >= size || request.Length <= 0
            ? null
            : (request.Offset, (int)Math.Min(Math.Min(request.Length, ChunkSize), size - request.Offset));

    sealed class ServerActor : ReceiveActor
    {
        public ServerActor(string hash, long size, Func<long, int, byte[]> read)
        {
            Receive<ReadBundleChunk>(request =>
            {
                if (request.Hash != hash || Clamp(request, size) is not { } range)
                {
                    Sender.Tell(new BundleUnavailable(request.Hash, $"bytes {request.Offset}+{request.Length} of bundle {request.Hash} are not served here"));
                    return;
                }
                Sender.Tell(new BundleChunk(hash, range.Offset, read(range.Offset, range.Length)));
            });
        }
    }

    sealed class DownloadActor : ReceiveActor, IWithTimers
    {
        const int MaxStalls = 3;
        sealed record Stalled(long At);

        readonly string _hash;
        readonly long _size;
        readonly IActorRef _source;
        readonly string _partFile;
        readonly TimeSpan _stallTimeout;
        readonly TaskCompletionSource<string> _done;
        FileStream? _file;
        IncrementalHash? _sha;
        long _written;
        long _requested;
        int _stalls;

        public DownloadActor(string hash, long size, IActorRef source, string partFile, TimeSpan stallTimeout, TaskCompletionSource<string> done)
        {
            _hash = hash;
            _size = size;
            _source = source;
            _partFile = partFile;
            _stallTimeout = stallTimeout;
            _done = done;
            Receive<BundleChunk>(Arrived);
            Receive<BundleUnavailable>(u => Fail(new BundleTransferException($"bundle {RecordedBundle.Shorten(hash)} cannot be read from {source.Path.Address}: {u.Reason}")));
            Receive<Terminated>(_ => Fail(new BundleTransferException(
                $"the member sending bundle {RecordedBundle.Shorten(hash)} went away after {_written} of {_size} bytes; what arrived is kept and the next try goes on from there")));
            Receive<Stalled>(stalled =>
            {
                if (stalled.At != _written)
                    return;
                if (++_stalls > MaxStalls)
                {
                    Fail(new BundleTransferException(
                        $"bundle {RecordedBundle.Shorten(hash)} stopped arriving from {source.Path.Address} at {_written} of {_size} bytes ({MaxStalls} tries of {_stallTimeout.TotalSeconds:0} s); what arrived is kept and the next try goes on from there"));
                    return;
                }
                // Lost or late: ask again from what the file holds (a late answer to the old requests is ignored).
                _requested = _written;
                RequestMore();
            });
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart()
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_partFile))!);
            _file = new FileStream(_partFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            if (_file.Length > _size)
                _file.SetLength(0);
            // Resume: what an earlier try left is hashed once, then appended to.
            var buffer = new byte[1 << 20];
            int read;
            while ((read = _file.Read(buffer, 0, buffer.Length)) > 0)
                _sha.AppendData(buffer, 0, read);
            _written = _requested = _file.Length;
            Context.Watch(_source);
            if (_written == _size)
                Complete();
            else
                RequestMore();
        }

        void RequestMore()
        {
            while (_requested < _size && _requested - _written < (long)Window * ChunkSize)
            {
                var length = (int)Math.Min(ChunkSize, _size - _requested);
                _source.Tell(new ReadBundleChunk(_hash, _requested, length));
                _requested += length;
            }
            Timers.StartSingleTimer("stall", new Stalled(_written), _stallTimeout);
        }

        void Arrived(BundleChunk chunk)
        {
            if (chunk.Hash != _hash || chunk.Offset != _written)
                return; // an answer to a request made before a stall: asked again since
            if (chunk.Data.Length == 0 || _written + chunk.Data.Length > _size)
            {
                Fail(new BundleCorruptException($"bundle {RecordedBundle.Shorten(_hash)}: {source()} sent {chunk.Data.Length} bytes at {chunk.Offset} of a {_size}-byte bundle; it is refused"));
                return;
            }
            _file!.Write(chunk.Data);
            _sha!.AppendData(chunk.Data);
            _written += chunk.Data.Length;
            _stalls = 0;
            if (_written == _size)
                Complete();
            else
                RequestMore();
        }

        string source() => _source.Path.Address.ToString();

        void Complete()
        {
            Timers.CancelAll();
            _file!.Flush(flushToDisk: true);
            _file.Dispose();
            _file = null;
            var hash = Convert.ToHexStringLower(_sha!.GetHashAndReset());
            if (!string.Equals(hash, _hash, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(_partFile);
                Fail(new BundleCorruptException(
                    $"bundle {RecordedBundle.Shorten(_hash)} arrived from {source()} but its {_size} bytes hash to {RecordedBundle.Shorten(hash)}: it was damaged on the way or is another bundle. Nothing of it is used; the next try fetches it again from the start."));
                return;
            }
            _done.TrySetResult(_partFile);
            Context.Stop(Self);
        }

        void Fail(Exception error)
        {
            Timers.CancelAll();
            _done.TrySetException(error);
            Context.Stop(Self);
        }

        protected override void PostStop()
        {
            _file?.Dispose();
            _sha?.Dispose();
            _done.TrySetException(new BundleTransferException($"the transfer of bundle {RecordedBundle.Shorten(_hash)} was stopped"));
        }
    }
}

/// <summary>A bundle could not be transferred (the holder lacks it, went away or stopped answering); trying again may work.</summary>
public sealed class BundleTransferException(string message) : Exception(message);
