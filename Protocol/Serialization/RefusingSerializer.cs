using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace TrainManager.Protocol.Serialization;

/// <summary>
/// Takes the place of Akka's default JSON serializer (id 1), which builds any .NET type a message names: bytes that
/// arrive for it are refused before a single object is made, and nothing of ours is ever sent with it (every message
/// type of the protocol is bound to <see cref="ClusterMessageSerializer"/>, and so is <see cref="object"/>).
/// </summary>
public sealed class RefusingSerializer : Serializer
{
    public RefusingSerializer(ExtendedActorSystem system) : base(system) { }

    /// <summary>The constructor Akka calls for a serializer that has settings (<c>serialization-settings.json</c>).</summary>
    public RefusingSerializer(ExtendedActorSystem system, Akka.Configuration.Config settings) : base(system) { }

    /// <summary>The id of the serializer it replaces, so what a peer sends for that one lands here.</summary>
    public const int ReplacedId = 1;

    public override int Identifier => ReplacedId;

    public override bool IncludeManifest => true;

    public override byte[] ToBinary(object obj) => throw new SerializationException(
        $"{obj.GetType().FullName} has no serializer of Train Manager's protocol; bind it to the trainmanager serializer (ProtocolManifests) instead of Akka's JSON fallback.");

    public override object FromBinary(byte[] bytes, Type type) => throw new SerializationException(
        $"refused a message for Akka's JSON serializer ({bytes.Length} bytes naming {type?.FullName ?? "a type"}): this cluster reads only its own protocol.");
}
