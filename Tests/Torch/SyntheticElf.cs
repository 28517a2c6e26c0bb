using System.Buffers.Binary;
using System.Text;

namespace TrainManager.Tests.Torch;

/// <summary>
/// Builds a minimal ELF64 shared object holding just what the version patch reads: .dynstr, .dynsym,
/// .gnu.version and .gnu.version_r. Lets the patch be tested on bytes we fully control.
/// </summary>
static class SyntheticElf
{
    public static byte[] Build(
        IReadOnlyList<(string File, string[] Versions)> requirements,
        IReadOnlyList<(string Symbol, string? Version)> symbols)
    {
        var strings = new MemoryStream();
        strings.WriteByte(0);
        var offsets = new Dictionary<string, uint>();
        uint Str(string s)
        {
            if (offsets.TryGetValue(s, out var o)) return o;
            o = (uint)strings.Length;
            strings.Write(Encoding.UTF8.GetBytes(s));
            strings.WriteByte(0);
            offsets[s] = o;
            return o;
        }

        // Version indices 0 and 1 are reserved (local, global); requirements count from 2.
        var index = new Dictionary<string, ushort>();
        ushort next = 2;
        foreach (var (_, versions) in requirements)
            foreach (var v in versions)
                index[v] = next++;

        var verneed = new List<byte>();
        for (int r = 0; r < requirements.Count; r++)
        {
            var (file, versions) = requirements[r];
            var entry = new byte[16];
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(0), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(2), (ushort)versions.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), Str(file));
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), 16);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(12), r == requirements.Count - 1 ? 0u : (uint)(16 + 16 * versions.Length));
            verneed.AddRange(entry);
            for (int a = 0; a < versions.Length; a++)
            {
                var aux = new byte[16];
                BinaryPrimitives.WriteUInt32LittleEndian(aux.AsSpan(0), ElfHash(versions[a]));
                BinaryPrimitives.WriteUInt16LittleEndian(aux.AsSpan(4), 0);
                BinaryPrimitives.WriteUInt16LittleEndian(aux.AsSpan(6), index[versions[a]]);
                BinaryPrimitives.WriteUInt32LittleEndian(aux.AsSpan(8), Str(versions[a]));
                BinaryPrimitives.WriteUInt32LittleEndian(aux.AsSpan(12), a == versions.Length - 1 ? 0u : 16u);
                verneed.AddRange(aux);
            }
        }

        var dynsym = new byte[24 * (symbols.Count + 1)];
        var versym = new byte[2 * (symbols.Count + 1)];
        for (int i = 0; i < symbols.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(dynsym.AsSpan(24 * (i + 1)), Str(symbols[i].Symbol));
            dynsym[24 * (i + 1) + 4] = 0x12; // STB_GLOBAL, STT_FUNC
            BinaryPrimitives.WriteUInt16LittleEndian(versym.AsSpan(2 * (i + 1)), symbols[i].Version is { } v ? index[v] : (ushort)1);
        }
        var dynstr = strings.ToArray();

        // Layout: header, then sections 8-aligned, then the section header table.
        var body = new MemoryStream();
        body.Write(new byte[64]);
        long Place(byte[] data)
        {
            while (body.Length % 8 != 0) body.WriteByte(0);
            long at = body.Length;
            body.Write(data);
            return at;
        }
        long strAt = Place(dynstr), symAt = Place(dynsym), versymAt = Place(versym), needAt = Place(verneed.ToArray());
        while (body.Length % 8 != 0) body.WriteByte(0);
        long shoff = body.Length;

        var sections = new (uint Type, long Offset, long Size, uint Link, uint Info, long EntSize)[]
        {
            (0, 0, 0, 0, 0, 0),
            (3, strAt, dynstr.Length, 0, 0, 0),                       // .dynstr
            (11, symAt, dynsym.Length, 1, 1, 24),                     // .dynsym
            (0x6fffffff, versymAt, versym.Length, 2, 0, 2),           // .gnu.version
            (0x6ffffffe, needAt, verneed.Count, 1, (uint)requirements.Count, 0), // .gnu.version_r
        };
        foreach (var s in sections)
        {
            var h = new byte[64];
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(0x04), s.Type);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(0x18), (ulong)s.Offset);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(0x20), (ulong)s.Size);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(0x28), s.Link);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(0x2C), s.Info);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(0x38), (ulong)s.EntSize);
            body.Write(h);
        }

        var bytes = body.ToArray();
        "\x7f"u8.CopyTo(bytes);
        "ELF"u8.CopyTo(bytes.AsSpan(1));
        bytes[4] = 2; // ELFCLASS64
        bytes[5] = 1; // little-endian
        bytes[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x10), 3);    // ET_DYN
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x12), 0x3E); // x86-64
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(0x28), (ulong)shoff);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x34), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x3A), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x3C), (ushort)sections.Length);
        return bytes;
    }

    /// <summary>The LibTorchSharp shape: libstdc++ versions (3.4.32 used only by ios_base_library_init) and a libc one.</summary>
    public static byte[] LikeLibTorchSharp(string glibcxx332User = "_ZSt21ios_base_library_initv") => Build(
        [("libc.so.6", ["GLIBC_2.34"]), ("libstdc++.so.6", ["GLIBCXX_3.4.30", "GLIBCXX_3.4.32", "CXXABI_1.3"])],
        [("memcpy", "GLIBC_2.34"), ("_ZNSt6localeC1Ev", "GLIBCXX_3.4.30"), (glibcxx332User, "GLIBCXX_3.4.32"), ("__cxa_throw", "CXXABI_1.3")]);

    static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (var c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }
}
