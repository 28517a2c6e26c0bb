using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;
using TrainManager.Protocol;

namespace TrainManager.Protocol.Serialization;

/// <summary>
/// Serializes every <see cref="IClusterMessage"/>, on the wire and in the journal, as UTF-8 JSON (snake_case: a person
/// can read the journal with <c>sqlite3</c> or <c>psql</c>) under a versioned manifest from <see cref="ProtocolManifests"/>.
/// Chosen over Akka's default JSON serializer because that one records .NET type names and instantiates whatever
/// type the bytes name; here the manifest picks from a fixed table and anything else is refused.
/// </summary>
public sealed class ClusterMessageSerializer : SerializerWithStringManifest
{
    /// <summary>Serializer id: fixed forever, since the journal stores it with every event.</summary>
    public const int Id = 7301;

    readonly JsonSerializerOptions _options;

    public ClusterMessageSerializer(ExtendedActorSystem system) : base(system)
    {
        _options = CreateOptions(system);
    }

    public override int Identifier => Id;

    /// <summary>The JSON settings: snake_case, enums by name, NaN allowed (a skipped validation has no loss),
    /// actor references as Akka paths, nested journal events by manifest.</summary>
    internal static JsonSerializerOptions CreateOptions(ExtendedActorSystem? system)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            // Bounded: a message is never deeply nested, and a hostile one must not exhaust the stack.
            MaxDepth = 32,
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.Converters.Add(new ExperimentEventConverter());
        if (system is not null)
            options.Converters.Add(new ActorRefConverter(system));
        return options;
    }

    public override string Manifest(object o) =>
        ProtocolManifests.TryGetManifest(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException(
                $"{o.GetType().FullName} has no manifest in ProtocolManifests, so it may not cross the network or enter the journal. " +
                "Add it to the table with a new versioned manifest (e.g. tm.exp.something.v1).");

    public override byte[] ToBinary(object obj) => obj is BundleChunk chunk
        ? ChunkToBinary(chunk)
        : JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), _options);

    const string ChunkManifest = "tm.bundle.chunk.v1";

    /// <summary>A bundle chunk is bytes: written as its hash (ASCII, length-prefixed), offset and data, not as base64 in
    /// JSON, so a transfer costs the bundle's size on the wire and no encoding.</summary>
    static byte[] ChunkToBinary(BundleChunk chunk)
    {
        var hash = System.Text.Encoding.ASCII.GetBytes(chunk.Hash);
        var bytes = new byte[1 + hash.Length + 8 + chunk.Data.Length];
        bytes[0] = checked((byte)hash.Length);
        hash.CopyTo(bytes, 1);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(1 + hash.Length), chunk.Offset);
        chunk.Data.CopyTo(bytes, 1 + hash.Length + 8);
        return bytes;
    }

    static BundleChunk ChunkFromBinary(byte[] bytes)
    {
        if (bytes.Length < 9 || bytes.Length < 1 + bytes[0] + 8)
            throw new SerializationException($"Message '{ChunkManifest}' is {bytes.Length} bytes, too short for a bundle chunk.");
        var hashLength = bytes[0];
        var hash = System.Text.Encoding.ASCII.GetString(bytes, 1, hashLength);
        var offset = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(1 + hashLength));
        return new BundleChunk(hash, offset, bytes[(1 + hashLength + 8)..]);
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!ProtocolManifests.TryGetType(manifest, out var type))
            throw new SerializationException(
                $"Unknown message manifest '{manifest}': it is not one this TrainManager knows ({ProtocolManifests.All.Count} known, e.g. tm.exp.submit.v1). " +
                "The sender runs a different TrainManager version, or is not TrainManager; run the same version on every node and client.");
        if (manifest == ChunkManifest)
            return ChunkFromBinary(bytes);
        try
        {
            return JsonSerializer.Deserialize(bytes, type, _options)
                ?? throw new SerializationException($"Message '{manifest}' was the JSON literal null.");
        }
        catch (JsonException e)
        {
            throw new SerializationException($"Message '{manifest}' does not match {type.Name}: {e.Message}", e);
        }
    }

    /// <summary>A journal event inside another message (a run's history): written as <c>{"manifest": ..., "event": {...}}</c>
    /// and read back only through the manifest table.</summary>
    sealed class ExperimentEventConverter : JsonConverter<IExperimentEvent>
    {
        public override IExperimentEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("manifest", out var manifestElement) || manifestElement.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("event", out var body))
                throw new JsonException("An experiment event must be an object with 'manifest' and 'event'.");
            var manifest = manifestElement.GetString()!;
            if (!ProtocolManifests.TryGetType(manifest, out var type) || !typeof(IExperimentEvent).IsAssignableFrom(type))
                throw new JsonException($"'{manifest}' is not a known experiment event manifest.");
            return (IExperimentEvent)(body.Deserialize(type, options) ?? throw new JsonException($"Event '{manifest}' was null."));
        }

        public override void Write(Utf8JsonWriter writer, IExperimentEvent value, JsonSerializerOptions options)
        {
            if (!ProtocolManifests.TryGetManifest(value.GetType(), out var manifest))
                throw new JsonException($"{value.GetType().Name} has no manifest in ProtocolManifests.");
            writer.WriteStartObject();
            writer.WriteString("manifest", manifest);
            writer.WritePropertyName("event");
            JsonSerializer.Serialize(writer, value, value.GetType(), options);
            writer.WriteEndObject();
        }
    }

    /// <summary>Actor references travel as their full Akka path and are resolved on arrival, the way Akka's own
    /// serializers do it.</summary>
    sealed class ActorRefConverter(ExtendedActorSystem system) : JsonConverter<IActorRef>
    {
        public override IActorRef Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var path = reader.GetString();
            return string.IsNullOrEmpty(path) ? ActorRefs.Nobody : system.Provider.ResolveActorRef(path);
        }

        public override void Write(Utf8JsonWriter writer, IActorRef value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Akka.Serialization.Serialization.SerializedActorPath(value));
    }
}
