using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TrainManager.Tests.Torch;

/// <summary>What someone who can write a checkpoint file does to it without the key: change a weight and recompute
/// the checksum, so a check by SHA-256 alone accepts it.</summary>
internal static class CheckpointTampering
{
    const int MagicLength = 8;
    const int HashLength = 32;

    /// <summary>Changes the last byte of the <c>model</c> section (the last parameter's data) and rewrites the SHA-256
    /// over the body; the key id and MAC after it, if any, are left as they were.</summary>
    public static void EditWeightAndRehash(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var trailer = HashLength + (bytes[MagicLength - 1] == 2 ? 8 + 32 : 0);
        var bodyLength = bytes.Length - trailer;
        var (offset, length) = Section(bytes, "model");
        bytes[offset + length - 1] ^= 0x01; // the high byte of a float: its value halves or doubles
        SHA256.HashData(bytes.AsSpan(0, bodyLength), bytes.AsSpan(bodyLength, HashLength));
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Turns a signed checkpoint into an unsigned one (format 1) with a valid checksum: drops the key id and MAC.</summary>
    public static void StripSignature(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var bodyLength = bytes.Length - HashLength - 8 - 32;
        var unsigned = bytes[..(bodyLength + HashLength)];
        unsigned[MagicLength - 1] = 1;
        SHA256.HashData(unsigned.AsSpan(0, bodyLength), unsigned.AsSpan(bodyLength, HashLength));
        File.WriteAllBytes(path, unsigned);
    }

    static (int Offset, int Length) Section(byte[] file, string wanted)
    {
        var position = MagicLength;
        while (true)
        {
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(position));
            if (nameLength == 0)
                throw new InvalidOperationException($"no '{wanted}' section");
            var name = Encoding.UTF8.GetString(file, position + 2, nameLength);
            position += 2 + nameLength + 1;
            var length = (int)BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(position));
            position += 8;
            if (name == wanted)
                return (position, length);
            position += length;
        }
    }
}
