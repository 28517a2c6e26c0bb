using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TorchSharp.Modules;
using TrainManager.Data;
using TrainManager.Models;
using TrainManager.Runtime;
using static TorchSharp.torch;

namespace TrainManager.Checkpoints;

/// <summary>Raised when a checkpoint fails its checksum or structure check; the message names the file and what to do.</summary>
public sealed class CheckpointCorruptException(string path, string reason)
    : Exception($"Checkpoint {path} is corrupt: {reason}. Training cannot resume from it; delete it and resume from an " +
                "earlier checkpoint in the same folder (or start the run again). A partly copied or truncated file is the usual cause.")
    , Experiments.IBadInput
{
    public string Path { get; } = path;
    /// <summary>Why, in a few words (what a list of rejected checkpoints shows).</summary>
    public string Reason { get; } = reason;
}

/// <summary>A sound checkpoint that does not fit the run asked of it: its weights have other shapes than this
/// experiment's model, or it has trained more epochs than the experiment asks for. The message says what to change.</summary>
public sealed class CheckpointMismatchException(string message, Exception? inner = null) : Exception(message, inner), Experiments.IBadInput;

public enum ExtensionStateKind : byte { Bytes = 0, Json = 1 }

/// <summary>State an extension asks to be saved with the checkpoint: JSON text or opaque bytes.</summary>
public sealed record ExtensionState(ExtensionStateKind Kind, byte[] Data)
{
    public static ExtensionState FromJson(string json) => new(ExtensionStateKind.Json, Encoding.UTF8.GetBytes(json));
    public static ExtensionState FromBytes(byte[] bytes) => new(ExtensionStateKind.Bytes, bytes);

    public string Json => Kind == ExtensionStateKind.Json
        ? Encoding.UTF8.GetString(Data)
        : throw new InvalidOperationException("This extension state holds bytes, not JSON; read Data instead.");
}

/// <summary>What a checkpoint records besides the model and optimizer tensors.</summary>
/// <param name="Epoch">The 0-based index of the epoch the checkpoint was written in (after, when it ran to its end);
/// people read it as epoch <c>Epoch + 1</c>, which is the number in the file name.</param>
/// <param name="Model">The resolved model spec (instantiation parameters), so the model can be rebuilt to load into.</param>
/// <param name="Sampler">Where the data order stands, to resume mid-epoch on the same batches.</param>
/// <param name="Extensions">Per-extension state, keyed by extension name.</param>
public sealed record CheckpointMetadata(
    int Epoch,
    long Step,
    ModelSpec? Model = null,
    SamplerState? Sampler = null,
    IReadOnlyDictionary<string, ExtensionState>? Extensions = null);

/// <summary>A checkpoint's metadata as read back, with where it came from and when it was written.</summary>
public sealed record CheckpointInfo(string Path, DateTimeOffset SavedAt, CheckpointMetadata Metadata, bool HasOptimizerState, bool HasRngState);

/// <summary>
/// Saves and restores training state in one folder, one file per checkpoint.
/// <para>
/// File format (integers little-endian):
/// <code>
///   "TMCKPT\0\x02"                     8-byte magic, last byte = format version (2 signed, 1 unsigned)
///   section*                           uint16 name length (> 0), UTF-8 name, byte kind (0 bytes, 1 JSON),
///                                      int64 payload length, payload
///   uint16 0                           end of sections
///   SHA-256 of all preceding bytes     32 bytes
///   key id                             8 bytes (version 2 only): which key signed it, see CheckpointKey.Id
///   HMAC-SHA256 of all preceding bytes 32 bytes (version 2 only), under the store's CheckpointKey
/// </code>
/// Sections: <c>meta</c> (JSON: epoch, step, saved_at, model spec, sampler state), <c>model</c> (TorchSharp
/// <c>Module.save</c> state dict), <c>optimizer</c> (<c>OptimizerHelper.save_state_dict</c>), <c>rng/torch-cpu</c>
/// (the default CPU generator state), and <c>ext/&lt;name&gt;</c> per extension. One file keeps a checkpoint
/// atomic under a single rename; the trailing hash and MAC are computed while writing, so saving is one pass. Each
/// section is held in memory once while saving or loading, which bounds a section at 2 GB.
/// </para>
/// <para>
/// The SHA-256 catches damage (a truncated copy, a flipped bit); it proves nothing about who wrote the file, since
/// anyone who edits it can recompute it. The MAC does: it covers every byte before it, so a changed tensor, metadata
/// field or extension state fails it, and only a holder of the key can make a new one. A store with a key signs what
/// it writes and refuses a checkpoint whose MAC does not verify (<see cref="CheckpointAuthenticationException"/>), and
/// one with no MAC unless the key says <see cref="CheckpointKey.AcceptUnsigned"/>. A store without a key writes
/// version 1 as before and checks only the SHA-256 of either version: it authenticates nothing.
/// </para>
/// Files are written to a temporary name, flushed to disk, then renamed: a crash never leaves a truncated
/// checkpoint under a real name, and the checksum catches damage that happens afterwards.
/// </summary>
public sealed class CheckpointStore
{
    public const string Extension = ".ckpt";
    const byte SignedVersion = 2;
    const byte UnsignedVersion = 1;
    static readonly byte[] MagicPrefix = [(byte)'T', (byte)'M', (byte)'C', (byte)'K', (byte)'P', (byte)'T', 0];
    const int MagicLength = 8;
    const int HashLength = 32;
    const int MacLength = 32;

    /// <param name="key">Signs what is saved and authenticates what is loaded; null: unsigned, checksum only.</param>
    public CheckpointStore(string directory, CheckpointKey? key = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
        Key = key;
    }

    public string Directory { get; }
    public CheckpointKey? Key { get; }

    /// <summary>Writes a checkpoint and returns its path (default name <c>epoch-0003-step-000001200.ckpt</c>, after the
    /// third epoch: the name counts epochs from 1).</summary>
    public string Save(nn.Module model, OptimizerHelper? optimizer, CheckpointMetadata metadata, string? fileName = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(metadata);
        TorchRuntime.EnsureLoaded();
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, fileName ?? $"epoch-{metadata.Epoch + 1:D4}-step-{metadata.Step:D9}{Extension}");

        var version = Key is null ? UnsignedVersion : SignedVersion;
        var sections = new List<(string Name, ExtensionStateKind Kind, byte[] Payload)>
        {
            ("meta", ExtensionStateKind.Json, Encoding.UTF8.GetBytes(MetaJson(metadata, version))),
            ("model", ExtensionStateKind.Bytes, Serialize(stream => model.save(stream))),
        };
        if (optimizer is not null)
            sections.Add(("optimizer", ExtensionStateKind.Bytes, Serialize(stream =>
            {
                using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
                optimizer.save_state_dict(writer);
            })));
        using (var rng = CpuRandomState.Get())
            sections.Add(("rng/torch-cpu", ExtensionStateKind.Bytes, rng.bytes.ToArray()));
        foreach (var (name, state) in metadata.Extensions ?? new Dictionary<string, ExtensionState>())
            sections.Add(($"ext/{name}", state.Kind, state.Data));

        AtomicFile.Write(path, stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var mac = Key?.NewMac();
            void Emit(ReadOnlySpan<byte> bytes)
            {
                stream.Write(bytes);
                hash.AppendData(bytes);
                mac?.AppendData(bytes);
            }
            Span<byte> number = stackalloc byte[8];
            Emit([.. MagicPrefix, version]);
            foreach (var (name, kind, payload) in sections)
            {
                var nameBytes = Encoding.UTF8.GetBytes(name);
                if (nameBytes.Length is 0 or > ushort.MaxValue)
                    throw new ArgumentException($"Checkpoint section name '{name}' must be 1 to 65535 UTF-8 bytes.");
                BinaryPrimitives.WriteUInt16LittleEndian(number, (ushort)nameBytes.Length);
                Emit(number[..2]);
                Emit(nameBytes);
                Emit([(byte)kind]);
                BinaryPrimitives.WriteInt64LittleEndian(number, payload.LongLength);
                Emit(number);
                Emit(payload);
            }
            BinaryPrimitives.WriteUInt16LittleEndian(number, 0);
            Emit(number[..2]);
            var digest = hash.GetHashAndReset();
            stream.Write(digest);
            if (Key is not null && mac is not null)
            {
                stream.Write(Key.IdBytes);
                mac.AppendData(digest);
                mac.AppendData(Key.IdBytes);
                stream.Write(mac.GetHashAndReset());
            }
        });
        return path;
    }

    /// <summary>
    /// Verifies the checkpoint, loads its tensors into <paramref name="model"/> (which must have been built from the
    /// same spec: <see cref="ReadInfo"/> gives it) and <paramref name="optimizer"/>, and restores the torch CPU
    /// random generator when <paramref name="restoreRng"/>.
    /// </summary>
    /// <exception cref="CheckpointCorruptException">Checksum or structure check failed.</exception>
    /// <exception cref="CheckpointAuthenticationException">This store has a key and the checkpoint's MAC does not verify
    /// under it, or it has none and the key does not accept unsigned ones.</exception>
    public CheckpointInfo Load(string path, nn.Module model, OptimizerHelper? optimizer = null, bool restoreRng = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureLoaded();
        var sections = ReadVerified(path);
        var info = ToInfo(path, sections);

        using (var stream = new MemoryStream(Section(path, sections, "model")))
            model.load(stream, strict: true);
        if (optimizer is not null)
        {
            if (!sections.TryGetValue("optimizer", out var optimizerState))
                throw new InvalidOperationException($"Checkpoint {path} holds no optimizer state; load it without an optimizer to use only the weights.");
            using var reader = new BinaryReader(new MemoryStream(optimizerState.Payload));
            optimizer.load_state_dict(reader);
        }
        if (restoreRng && sections.TryGetValue("rng/torch-cpu", out var rng))
        {
            using var state = tensor(rng.Payload, ScalarType.Byte);
            CpuRandomState.Set(state);
        }
        return info;
    }

    /// <summary>Verifies the checkpoint and returns its metadata without touching any tensors.</summary>
    public CheckpointInfo ReadInfo(string path) => ToInfo(path, ReadVerified(path));

    /// <summary>Checks the checksum and, with a key, the MAC, without parsing the sections.</summary>
    /// <exception cref="CheckpointCorruptException">Checksum failed, or the file is not a checkpoint.</exception>
    /// <exception cref="CheckpointAuthenticationException">See <see cref="Load"/>.</exception>
    public void Verify(string path)
    {
        using var file = OpenChecked(path, out _);
    }

    /// <summary>Checkpoint files in this store, oldest first (by name, which orders by epoch and step).</summary>
    public IReadOnlyList<string> List() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateFiles(Directory, "*" + Extension).Order(StringComparer.Ordinal).ToList()
            : [];

    public string? Latest() => List().LastOrDefault();

    static byte[] Serialize(Action<Stream> write)
    {
        using var buffer = new MemoryStream();
        write(buffer);
        return buffer.ToArray();
    }

    static string MetaJson(CheckpointMetadata metadata, int version)
    {
        var meta = new JsonObject
        {
            ["format"] = version,
            ["epoch"] = metadata.Epoch,
            ["step"] = metadata.Step,
            ["saved_at"] = DateTimeOffset.UtcNow.ToString("O"),
            ["model"] = metadata.Model is null ? null : JsonNode.Parse(metadata.Model.ToJson()),
            ["sampler"] = metadata.Sampler is null ? null : new JsonObject
            {
                ["seed"] = metadata.Sampler.Seed,
                ["epoch"] = metadata.Sampler.Epoch,
                ["next_batch"] = metadata.Sampler.NextBatch,
                ["world_size"] = metadata.Sampler.WorldSize,
                ["sharded_from"] = metadata.Sampler.ShardedFrom,
            },
        };
        return meta.ToJsonString();
    }

    static CheckpointInfo ToInfo(string path, Dictionary<string, (ExtensionStateKind Kind, byte[] Payload)> sections)
    {
        JsonObject meta;
        try
        {
            meta = JsonNode.Parse(Section(path, sections, "meta")) as JsonObject
                ?? throw new CheckpointCorruptException(path, "its meta section is not a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new CheckpointCorruptException(path, $"its meta section is not valid JSON ({e.Message})");
        }
        T Required<T>(JsonObject owner, string key)
        {
            try
            {
                return owner[key] is { } node ? node.GetValue<T>() : throw new CheckpointCorruptException(path, $"its meta section lacks '{key}'");
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new CheckpointCorruptException(path, $"its meta field '{key}' is not a {typeof(T).Name}");
            }
        }
        // world_size and sharded_from came with elastic resume; checkpoints written before it were single-world.
        T Optional<T>(JsonObject owner, string key, T absent) => owner[key] is null ? absent : Required<T>(owner, key);
        var sampler = meta["sampler"] is JsonObject s
            ? new SamplerState(Required<long>(s, "seed"), Required<int>(s, "epoch"), Required<int>(s, "next_batch"),
                Optional(s, "world_size", 1), Optional(s, "sharded_from", 0L))
            : null;
        var model = meta["model"] is JsonObject m ? ModelSpec.FromJson(m.ToJsonString()) : null;
        var extensions = sections.Where(kv => kv.Key.StartsWith("ext/", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["ext/".Length..], kv => new ExtensionState(kv.Value.Kind, kv.Value.Payload));
        var metadata = new CheckpointMetadata(Required<int>(meta, "epoch"), Required<long>(meta, "step"), model, sampler, extensions);
        var savedAt = DateTimeOffset.TryParse(meta["saved_at"]?.GetValue<string>(), out var at) ? at : File.GetLastWriteTimeUtc(path);
        return new CheckpointInfo(path, savedAt, metadata, sections.ContainsKey("optimizer"), sections.ContainsKey("rng/torch-cpu"));
    }

    static byte[] Section(string path, Dictionary<string, (ExtensionStateKind Kind, byte[] Payload)> sections, string name) =>
        sections.TryGetValue(name, out var section) ? section.Payload : throw new CheckpointCorruptException(path, $"it has no '{name}' section");

    /// <summary>Checks the trailing SHA-256 (and MAC) over the whole file first, then parses the sections.</summary>
    Dictionary<string, (ExtensionStateKind Kind, byte[] Payload)> ReadVerified(string path)
    {
        using var file = OpenChecked(path, out var bodyLength);
        file.Position = MagicLength;
        using var reader = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
        var sections = new Dictionary<string, (ExtensionStateKind, byte[])>(StringComparer.Ordinal);
        while (true)
        {
            int nameLength = reader.ReadUInt16();
            if (nameLength == 0)
                break;
            var name = Encoding.UTF8.GetString(reader.ReadBytes(nameLength));
            var kind = (ExtensionStateKind)reader.ReadByte();
            long length = reader.ReadInt64();
            if (length < 0 || length > bodyLength - file.Position)
                throw new CheckpointCorruptException(path, $"section '{name}' claims {length} bytes, past the end of the file");
            sections[name] = (kind, reader.ReadBytes((int)length));
        }
        if (file.Position != bodyLength)
            throw new CheckpointCorruptException(path, "it has bytes between its last section and its checksum");
        return sections;
    }

    /// <summary>
    /// Opens a checkpoint and checks it as a whole before anything in it is parsed: the magic, the SHA-256 of the body
    /// (damage), then the MAC under <see cref="Key"/> (authenticity). Returns the file and the length of its body (the
    /// bytes the checksum covers).
    /// </summary>
    FileStream OpenChecked(string path, out long bodyLength)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Checkpoint {path} does not exist.", path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var magic = new byte[MagicLength];
            if (file.Length < MagicLength || file.Read(magic) != MagicLength || !magic.AsSpan(0, MagicPrefix.Length).SequenceEqual(MagicPrefix))
                throw new CheckpointCorruptException(path, "it is not a TrainManager checkpoint (bad magic)");
            var version = magic[^1];
            if (version is not (UnsignedVersion or SignedVersion))
                throw new NotSupportedException($"Checkpoint {path} has format version {version}; this TrainManager reads versions {UnsignedVersion} and {SignedVersion}. Use the TrainManager version that wrote it.");
            var trailer = HashLength + (version == SignedVersion ? CheckpointKey.IdLength + MacLength : 0);
            bodyLength = file.Length - trailer;
            if (bodyLength < MagicLength + 2)
                throw new CheckpointCorruptException(path, $"it is only {file.Length} bytes long");

            // The MAC is computed only when it will be checked: under this store's key, on a signed file.
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var mac = version == SignedVersion ? Key?.NewMac() : null;
            hash.AppendData(magic);
            mac?.AppendData(magic);
            var buffer = new byte[1 << 16];
            long remaining = bodyLength - MagicLength;
            while (remaining > 0)
            {
                int read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                if (read == 0)
                    throw new CheckpointCorruptException(path, "it ended while being read");
                hash.AppendData(buffer, 0, read);
                mac?.AppendData(buffer, 0, read);
                remaining -= read;
            }
            var expected = new byte[HashLength];
            file.ReadExactly(expected);
            if (!CryptographicOperations.FixedTimeEquals(hash.GetHashAndReset(), expected))
                throw new CheckpointCorruptException(path, "its SHA-256 checksum does not match its contents");
            if (Key is { } key)
            {
                if (version == UnsignedVersion)
                {
                    if (!key.AcceptUnsigned)
                        throw new CheckpointAuthenticationException(path, UnsignedReason, UnsignedAdvice);
                }
                else
                {
                    var keyId = new byte[CheckpointKey.IdLength];
                    file.ReadExactly(keyId);
                    var signature = new byte[MacLength];
                    file.ReadExactly(signature);
                    if (!keyId.AsSpan().SequenceEqual(key.IdBytes))
                        throw new CheckpointAuthenticationException(path,
                            $"it was signed with another cluster secret (key id {Convert.ToHexStringLower(keyId)}; this one's is {key.Id})",
                            OtherKeyAdvice);
                    mac!.AppendData(expected);
                    mac.AppendData(keyId);
                    if (!CryptographicOperations.FixedTimeEquals(mac.GetHashAndReset(), signature))
                        throw new CheckpointAuthenticationException(path, ModifiedReason, ModifiedAdvice);
                }
            }
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Why a checkpoint whose MAC fails under the key is refused.</summary>
    public const string ModifiedReason =
        "its MAC does not verify under this cluster's checkpoint key: it was modified after it was written (a recomputed SHA-256 " +
        "does not help), or written with another cluster secret";
    const string ModifiedAdvice =
        "Resume from an earlier checkpoint in the same folder or restore this one from a backup; if it came from another " +
        "cluster, use that cluster's secret file (TRAINMANAGER_SECRET_FILE or trainmanager.security.secret-file).";
    const string OtherKeyAdvice =
        "Use the secret file of the cluster that wrote it (TRAINMANAGER_SECRET_FILE or trainmanager.security.secret-file), " +
        "or resume from a checkpoint this cluster wrote.";
    const string UnsignedReason =
        "it carries no MAC (written by a Train Manager version before checkpoints were signed, or saved without a key), " +
        "so nothing shows who wrote it";
    const string UnsignedAdvice =
        "If you trust the file, accept unsigned checkpoints explicitly: --accept-unsigned-checkpoints (train, eval) or " +
        "trainmanager.security.accept-unsigned-checkpoints = on (a cluster's nodes).";
}
