using System.Buffers.Binary;
using System.Text;

namespace TrainManager.Runtime;

/// <summary>One version a shared object requires from one of its dependencies (an ELF Vernaux record).</summary>
/// <param name="File">The dependency that must provide the version, e.g. <c>libstdc++.so.6</c>.</param>
/// <param name="Version">The version name, e.g. <c>GLIBCXX_3.4.32</c>.</param>
/// <param name="Flags">The record's <c>vna_flags</c>; <see cref="ElfImage.VerFlagWeak"/> marks a weak requirement.</param>
/// <param name="Index">The version index (<c>vna_other</c>) that <c>.gnu.version</c> uses to tie symbols to it.</param>
/// <param name="FlagsOffset">File offset of the two-byte <c>vna_flags</c> field, for patching.</param>
public sealed record ElfVersionRequirement(string File, string Version, ushort Flags, ushort Index, long FlagsOffset)
{
    public bool IsWeak => (Flags & ElfImage.VerFlagWeak) != 0;
}

/// <summary>
/// A read-only view of a 64-bit little-endian ELF shared object, just deep enough to read and patch
/// symbol versioning (<c>.gnu.version_r</c>, <c>.gnu.version_d</c>, <c>.gnu.version</c>, <c>.dynsym</c>).
/// We parse it ourselves rather than shell out to patchelf/readelf, which a user machine may lack.
/// </summary>
public sealed class ElfImage
{
    public const ushort VerFlagWeak = 0x2;

    const uint ShtDynSym = 11;
    const uint ShtGnuVerdef = 0x6ffffffd;
    const uint ShtGnuVerneed = 0x6ffffffe;
    const uint ShtGnuVersym = 0x6fffffff;

    readonly byte[] _bytes;
    readonly string _source;
    readonly SectionHeader[] _sections;

    readonly record struct SectionHeader(uint Type, long Offset, long Size, uint Link, uint Info, long EntrySize);

    ElfImage(byte[] bytes, string source, SectionHeader[] sections)
    {
        _bytes = bytes;
        _source = source;
        _sections = sections;
    }

    /// <summary>The raw file contents; patches are applied to this array.</summary>
    public byte[] Bytes => _bytes;

    public static ElfImage Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <param name="source">Names the file in error messages.</param>
    public static ElfImage Parse(byte[] bytes, string source)
    {
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            throw new InvalidDataException($"{source} is not an ELF file (bad magic).");
        if (bytes[4] != 2 || bytes[5] != 1)
            throw new InvalidDataException($"{source} is not a 64-bit little-endian ELF file (class {bytes[4]}, data {bytes[5]}); only x86-64/arm64 Linux libraries are supported.");

        var span = bytes.AsSpan();
        long sectionTable = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);
        if (sectionTable == 0 || count == 0)
            throw new InvalidDataException($"{source} has no section headers; cannot read its symbol versions.");
        if (entrySize < 64 || sectionTable < 0 || sectionTable + (long)entrySize * count > bytes.Length)
            throw new InvalidDataException($"{source} has a truncated or malformed section header table.");

        var sections = new SectionHeader[count];
        for (int i = 0; i < count; i++)
        {
            var h = span.Slice((int)(sectionTable + (long)i * entrySize), entrySize);
            var header = new SectionHeader(
                Type: BinaryPrimitives.ReadUInt32LittleEndian(h[0x04..]),
                Offset: (long)BinaryPrimitives.ReadUInt64LittleEndian(h[0x18..]),
                Size: (long)BinaryPrimitives.ReadUInt64LittleEndian(h[0x20..]),
                Link: BinaryPrimitives.ReadUInt32LittleEndian(h[0x28..]),
                Info: BinaryPrimitives.ReadUInt32LittleEndian(h[0x2C..]),
                EntrySize: (long)BinaryPrimitives.ReadUInt64LittleEndian(h[0x38..]));
            // SHT_NOBITS (8) sections occupy no file bytes; everything else must lie inside the file.
            if (header.Type != 8 && header.Type != 0 && (header.Offset < 0 || header.Size < 0 || header.Offset + header.Size > bytes.Length))
                throw new InvalidDataException($"{source}: section {i} lies outside the file.");
            sections[i] = header;
        }
        return new ElfImage(bytes, source, sections);
    }

    /// <summary>Every Vernaux record of every Verneed entry, in file order.</summary>
    public IReadOnlyList<ElfVersionRequirement> VersionRequirements()
    {
        var result = new List<ElfVersionRequirement>();
        foreach (var section in _sections.Where(s => s.Type == ShtGnuVerneed))
        {
            var strings = StringTable(section);
            long entry = section.Offset;
            // sh_info holds the number of Verneed entries; bounding the walk by it protects against cycles.
            for (uint n = 0; n < section.Info; n++)
            {
                RequireInside(entry, 16, section);
                ushort auxCount = U16(entry + 2);
                string file = strings.Read(U32(entry + 4));
                long aux = entry + U32(entry + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    RequireInside(aux, 16, section);
                    result.Add(new ElfVersionRequirement(
                        File: file,
                        Version: strings.Read(U32(aux + 8)),
                        Flags: U16(aux + 4),
                        Index: (ushort)(U16(aux + 6) & 0x7fff),
                        FlagsOffset: aux + 4));
                    uint nextAux = U32(aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(entry + 12);
                if (next == 0) break;
                entry += next;
            }
        }
        return result;
    }

    /// <summary>The version names this object defines (<c>.gnu.version_d</c>), e.g. GLIBCXX_3.4.30 for libstdc++.</summary>
    public IReadOnlyList<string> VersionDefinitions()
    {
        var result = new List<string>();
        foreach (var section in _sections.Where(s => s.Type == ShtGnuVerdef))
        {
            var strings = StringTable(section);
            long entry = section.Offset;
            for (uint n = 0; n < section.Info; n++)
            {
                RequireInside(entry, 20, section);
                ushort flags = U16(entry + 2);
                long aux = entry + U32(entry + 12);
                // The first Verdaux names the version itself; later ones name its predecessors.
                // VER_FLG_BASE (0x1) marks the entry that only names the file (the soname).
                if ((flags & 0x1) == 0 && U16(entry + 6) > 0)
                {
                    RequireInside(aux, 8, section);
                    result.Add(strings.Read(U32(aux)));
                }
                uint next = U32(entry + 16);
                if (next == 0) break;
                entry += next;
            }
        }
        return result;
    }

    /// <summary>Names of the dynamic symbols that <c>.gnu.version</c> binds to the given version index.</summary>
    public IReadOnlyList<string> SymbolsBoundToVersion(ushort versionIndex)
    {
        var result = new List<string>();
        var versym = _sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
        var dynsym = _sections.FirstOrDefault(s => s.Type == ShtDynSym);
        if (versym.Type == 0 || dynsym.Type == 0)
            return result;
        var strings = StringTable(dynsym);
        long symbolSize = dynsym.EntrySize == 0 ? 24 : dynsym.EntrySize;
        long symbols = Math.Min(dynsym.Size / symbolSize, versym.Size / 2);
        for (long i = 0; i < symbols; i++)
        {
            if ((U16(versym.Offset + i * 2) & 0x7fff) == versionIndex)
                result.Add(strings.Read(U32(dynsym.Offset + i * symbolSize)));
        }
        return result;
    }

    /// <summary>Sets <c>VER_FLG_WEAK</c> on one requirement, in <see cref="Bytes"/>.</summary>
    public void MarkWeak(ElfVersionRequirement requirement)
    {
        ushort flags = U16(requirement.FlagsOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(_bytes.AsSpan((int)requirement.FlagsOffset), (ushort)(flags | VerFlagWeak));
    }

    StringTableView StringTable(SectionHeader owner)
    {
        if (owner.Link >= _sections.Length)
            throw new InvalidDataException($"{_source}: a version section links to missing string table {owner.Link}.");
        var table = _sections[owner.Link];
        return new StringTableView(_bytes, table.Offset, table.Size, _source);
    }

    void RequireInside(long offset, int length, SectionHeader section)
    {
        if (offset < section.Offset || offset + length > section.Offset + section.Size)
            throw new InvalidDataException($"{_source}: a symbol-version record points outside its section (offset {offset}).");
    }

    ushort U16(long offset) => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan((int)offset, 2));
    uint U32(long offset) => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan((int)offset, 4));

    readonly struct StringTableView(byte[] bytes, long offset, long size, string source)
    {
        public string Read(uint index)
        {
            if (index >= size)
                throw new InvalidDataException($"{source}: string index {index} lies outside its string table.");
            var span = bytes.AsSpan((int)(offset + index), (int)(size - index));
            int end = span.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
        }
    }
}
