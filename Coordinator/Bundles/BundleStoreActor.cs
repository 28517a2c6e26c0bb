using Akka.Actor;
using Akka.Event;
using TrainManager.Protocol;
using TrainManager.Protocol.Bundles;
using TrainManager.Protocol.Configuration;
using TrainManager.Runtime;
using TrainManager.Training;

namespace TrainManager.Coordinator.Bundles;

/// <summary>
/// The coordinator's bundles (a child of the registry, so it moves with it): takes uploads (<see cref="OfferBundle"/>:
/// it pulls the bytes from the client in chunks, verifies them, and stores them), serves them to nodes
/// (<see cref="FetchBundle"/>, <see cref="ReadBundleChunk"/>), and applies the retention rule with the set of bundles
/// the registry says runs still use (<see cref="InUse"/>).
/// </summary>
public sealed class BundleStoreActor : ReceiveActor, IWithTimers
{
    /// <summary>From the registry: the bundles of every run that has not ended; the rule never removes those.</summary>
    public sealed record InUse(IReadOnlySet<string> Hashes);

    /// <summary>Apply the retention rule now (also on a timer, and after each upload).</summary>
    public sealed record Collect
    {
        public static Collect Instance { get; } = new();
    }

    sealed record UploadDone(BundleRef Bundle, string Part);
    sealed record UploadFailed(BundleRef Bundle, Exception Error);

    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly IBundleStore _store;
    readonly BundleStoreOptions _options;
    readonly BundleKey? _key;
    readonly string _frameworkVersion;
    readonly Dictionary<string, List<IActorRef>> _uploads = [];
    IReadOnlySet<string> _inUse = new HashSet<string>();
    bool _inUseKnown;

    public BundleStoreActor(IBundleStore store, BundleStoreOptions options, BundleKey? key, string frameworkVersion)
    {
        _store = store;
        _options = options;
        _key = key;
        _frameworkVersion = frameworkVersion;
        Receive<OfferBundle>(Offer);
        Receive<UploadDone>(Uploaded);
        Receive<UploadFailed>(failed =>
        {
            _log.Warning("Upload of {0} failed: {1}", failed.Bundle, failed.Error.Message);
            Answer(failed.Bundle.Hash, new BundleRefused(failed.Bundle.Hash, $"the upload of {failed.Bundle} failed: {failed.Error.Message}"));
        });
        Receive<FetchBundle>(fetch =>
        {
            var stored = Guarded(() => _store.Find(fetch.Hash));
            if (stored is null)
            {
                Sender.Tell(new BundleUnavailable(fetch.Hash, $"the coordinator holds no bundle {RecordedBundle.Shorten(fetch.Hash)}: it was never uploaded, or was removed after no run used it (trainmanager.bundles.keep-unused). Submit the experiment again."));
                return;
            }
            Guarded(() => { _store.Touch(fetch.Hash, DateTimeOffset.UtcNow); return 0; });
            Sender.Tell(new BundleSource(fetch.Hash, stored.Size, Self));
        });
        Receive<ReadBundleChunk>(read =>
        {
            var stored = Guarded(() => _store.Find(read.Hash));
            if (stored is null || BundleTransfer.Clamp(read, stored.Size) is not { } range)
            {
                Sender.Tell(new BundleUnavailable(read.Hash, $"the coordinator cannot serve bytes {read.Offset}+{read.Length} of bundle {RecordedBundle.Shorten(read.Hash)}"));
                return;
            }
            Sender.Tell(new BundleChunk(read.Hash, range.Offset, _store.Read(read.Hash, range.Offset, range.Length)));
        });
        Receive<InUse>(inUse =>
        {
            _inUse = inUse.Hashes;
            _inUseKnown = true;
        });
        Receive<Collect>(_ => CollectGarbage());
    }

    public static Props Props(IBundleStore store, BundleStoreOptions options, BundleKey? key, string? frameworkVersion = null) =>
        Akka.Actor.Props.Create(() => new BundleStoreActor(store, options, key, frameworkVersion ?? ProjectBundle.RunningFrameworkVersion()));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() =>
        Timers.StartPeriodicTimer("collect", Collect.Instance, _options.CollectEvery);

    void Offer(OfferBundle offer)
    {
        var bundle = offer.Bundle;
        if (!DirectoryBundleStore.IsHash(bundle.Hash) || bundle.Size <= 0)
        {
            Sender.Tell(new BundleRefused(bundle.Hash, $"'{bundle.Hash}' ({bundle.Size} bytes) is not a bundle name: 64 lower-case hex digits of SHA-256 and a positive size."));
            return;
        }
        if (_key is not null && !_key.Verifies(bundle))
        {
            Sender.Tell(new BundleRefused(bundle.Hash,
                $"{bundle} is not signed with this cluster's secret; submit it with the secret file the cluster's nodes use (--secret-file, TRAINMANAGER_SECRET_FILE)."));
            return;
        }
        if (!string.Equals(bundle.FrameworkVersion, _frameworkVersion, StringComparison.Ordinal))
        {
            Sender.Tell(new BundleRefused(bundle.Hash,
                $"training project {bundle.Project} was built against Train Manager {bundle.FrameworkVersion}, but this cluster runs {_frameworkVersion}; " +
                $"reference version {_frameworkVersion} of the TrainManager packages in the project and submit again."));
            return;
        }
        if (Guarded(() => _store.Find(bundle.Hash)) is not null)
        {
            Guarded(() => { _store.Touch(bundle.Hash, DateTimeOffset.UtcNow); return 0; });
            Sender.Tell(new BundleHeld(bundle.Hash, 0));
            return;
        }
        if (_uploads.TryGetValue(bundle.Hash, out var waiting))
        {
            waiting.Add(Sender); // the same bundle from two clients at once: one upload, both told
            return;
        }
        if (!BundleRetention.Fits(Guarded(() => _store.List()), _inUse, DateTimeOffset.UtcNow, _options, bundle.Size))
        {
            Sender.Tell(new BundleRefused(bundle.Hash,
                $"{bundle} ({ByteCount.Text(bundle.Size)}) does not fit: the bundles that runs still use fill the coordinator's room (trainmanager.bundles.max-size = {ByteCount.Text(_options.MaxSize)}). " +
                "Wait for runs to end, or raise the limit."));
            return;
        }
        _uploads[bundle.Hash] = [Sender];
        _log.Info("Receiving {0} ({1}) from {2}", bundle, ByteCount.Text(bundle.Size), Sender.Path.Address);
        var part = Path.Combine(_store.UploadDirectory, bundle.Hash + ".part");
        var self = Self;
        BundleTransfer.Download(Context, bundle.Hash, bundle.Size, Sender, part).ContinueWith(t => t.IsCompletedSuccessfully
            ? (object)new UploadDone(bundle, t.Result)
            : new UploadFailed(bundle, t.Exception?.GetBaseException() ?? new TaskCanceledException()), TaskScheduler.Default).PipeTo(self);
    }

    void Uploaded(UploadDone done)
    {
        var bundle = done.Bundle;
        try
        {
            // The bytes hash to the name; the archive inside must be a bundle as well, of this framework version.
            var read = ProjectBundle.Read(File.ReadAllBytes(done.Part), bundle.Hash);
            read.RequireFramework(_frameworkVersion);
            if (read.Manifest.Assembly != bundle.Assembly)
                throw new BundleCorruptException($"bundle {bundle.ShortHash} holds {read.Manifest.Assembly}, not {bundle.Assembly} as offered.");
            _store.Add(bundle, done.Part, DateTimeOffset.UtcNow);
        }
        catch (Exception e)
        {
            File.Delete(done.Part);
            Self.Tell(new UploadFailed(bundle, e));
            return;
        }
        _log.Info("Stored {0} ({1})", bundle, ByteCount.Text(bundle.Size));
        Answer(bundle.Hash, new BundleHeld(bundle.Hash, bundle.Size));
        CollectGarbage();
    }

    void Answer(string hash, object answer)
    {
        if (_uploads.Remove(hash, out var waiting))
            foreach (var client in waiting)
                client.Tell(answer);
    }

    void CollectGarbage()
    {
        if (!_inUseKnown)
            return; // until the registry has said which bundles its runs use, nothing is safe to remove
        try
        {
            var stored = _store.List();
            foreach (var hash in BundleRetention.Remove(stored, _inUse, DateTimeOffset.UtcNow, _options))
            {
                if (_uploads.ContainsKey(hash)) continue;
                _store.Remove(hash);
                _log.Info("Removed bundle {0}: no run uses it and it was last used over {1} ago (or the bundles exceeded their size limit)", RecordedBundle.Shorten(hash), _options.KeepUnused);
            }
        }
        catch (Exception e)
        {
            _log.Warning("Could not apply the bundle retention rule: {0}", e.Message);
        }
    }

    T Guarded<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or Npgsql.NpgsqlException or UnauthorizedAccessException)
        {
            _log.Error(e, "The bundle store failed");
            throw;
        }
    }
}

/// <summary>What the registry needs to keep bundles: the store beside the journal, the retention rule, the key bundles
/// are named with (null: not checked, for tests without a secret), and the framework version uploads must match.</summary>
public sealed record BundleStoreSetup(IBundleStore Store, BundleStoreOptions Options, BundleKey? Key, string? FrameworkVersion = null);
