using TrainManager.Runtime;

namespace TrainManager.Tests.Torch;

public sealed class WeakVersionPatchTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("tm-elf-").FullName;
    readonly WeakVersionPatch _patch = WeakVersionPatch.LibTorchSharpGlibcxx;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Reading_a_synthetic_library_lists_every_requirement_with_its_dependency()
    {
        var image = ElfImage.Parse(SyntheticElf.LikeLibTorchSharp(), "synthetic");

        var requirements = image.VersionRequirements().Select(r => $"{r.File}:{r.Version}:{r.IsWeak}");

        Assert.Equal(["libc.so.6:GLIBC_2.34:False", "libstdc++.so.6:GLIBCXX_3.4.30:False",
                      "libstdc++.so.6:GLIBCXX_3.4.32:False", "libstdc++.so.6:CXXABI_1.3:False"], requirements);
    }

    [Fact]
    public void Patching_flips_exactly_the_weak_flag_of_the_GLIBCXX_3_4_32_requirement()
    {
        var original = SyntheticElf.LikeLibTorchSharp();
        var image = ElfImage.Parse((byte[])original.Clone(), "synthetic");
        var target = image.VersionRequirements().Single(r => r.Version == "GLIBCXX_3.4.32");

        var before = _patch.Apply(image, "synthetic");

        Assert.Equal(WeakVersionState.Strong, before);
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != image.Bytes[i]).ToList();
        Assert.Equal([(int)target.FlagsOffset], changed);
        Assert.Equal(ElfImage.VerFlagWeak, image.Bytes[target.FlagsOffset] ^ original[target.FlagsOffset]);
        Assert.All(ElfImage.Parse(image.Bytes, "patched").VersionRequirements(),
            r => Assert.Equal(r.Version == "GLIBCXX_3.4.32", r.IsWeak));
    }

    [Fact]
    public void Patching_an_already_weak_library_changes_nothing()
    {
        var image = ElfImage.Parse(SyntheticElf.LikeLibTorchSharp(), "synthetic");
        _patch.Apply(image, "synthetic");
        var once = (byte[])image.Bytes.Clone();

        var second = _patch.Apply(image, "synthetic");

        Assert.Equal(WeakVersionState.AlreadyWeak, second);
        Assert.Equal(once, image.Bytes);
    }

    [Fact]
    public void Patching_a_file_twice_rewrites_it_only_the_first_time()
    {
        var file = Path.Combine(_directory, "libLibTorchSharp.so");
        File.WriteAllBytes(file, SyntheticElf.LikeLibTorchSharp());

        var first = _patch.PatchFile(file, file);
        var afterFirst = File.ReadAllBytes(file);
        var stamp = File.GetLastWriteTimeUtc(file);
        var second = _patch.PatchFile(file, file);

        Assert.Equal((WeakVersionState.Strong, WeakVersionState.AlreadyWeak), (first, second));
        Assert.Equal(afterFirst, File.ReadAllBytes(file));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(file));
        Assert.Equal(WeakVersionState.AlreadyWeak, _patch.Inspect(ElfImage.Read(file)));
        Assert.Single(Directory.GetFiles(_directory)); // no temporary file left behind
    }

    [Fact]
    public void Patching_refuses_when_a_symbol_that_may_be_called_needs_the_version()
    {
        var image = ElfImage.Parse(SyntheticElf.LikeLibTorchSharp(glibcxx332User: "_ZNSt7__cxx1112basic_stringIcEC1Ev"), "synthetic");

        var error = Assert.Throws<InvalidOperationException>(() => _patch.Apply(image, "synthetic"));

        Assert.Contains("_ZNSt7__cxx1112basic_stringIcEC1Ev", error.Message);
        Assert.Equal(WeakVersionState.Strong, _patch.Inspect(image));
    }

    [Fact]
    public void A_library_without_the_requirement_needs_no_patch()
    {
        var image = ElfImage.Parse(SyntheticElf.Build([("libstdc++.so.6", ["GLIBCXX_3.4.30"])], [("f", "GLIBCXX_3.4.30")]), "synthetic");

        Assert.Equal(WeakVersionState.NotRequired, _patch.Apply(image, "synthetic"));
    }

    [Fact]
    public void A_file_that_is_not_ELF_is_rejected_with_its_name()
    {
        var error = Assert.Throws<InvalidDataException>(() => ElfImage.Parse("not an elf file at all, just text......................................"u8.ToArray(), "notes.txt"));

        Assert.Contains("notes.txt", error.Message);
    }

    [Fact]
    public void The_shipped_LibTorchSharp_binds_only_the_unused_symbol_to_GLIBCXX_3_4_32()
    {
        // Guards the patch's premise against TorchSharp upgrades.
        var shipped = TorchNativeFiles.FindLibTorchSharp();
        Assert.NotEmpty(shipped);
        var image = ElfImage.Read(shipped[0]);
        var requirement = image.VersionRequirements().SingleOrDefault(r => r.Version == _patch.Version);

        var bound = requirement is null ? [] : image.SymbolsBoundToVersion(requirement.Index);

        Assert.All(bound, symbol => Assert.Equal("_ZSt21ios_base_library_initv", symbol));
    }

    [Fact]
    public void After_loading_the_libraries_requirement_is_weak_or_satisfied_by_the_system()
    {
        var libStdCxx = SystemLibStdCxx.Inspect();
        var primary = TorchNativeFiles.FindLibTorchSharp()[0];

        var state = _patch.Inspect(ElfImage.Read(primary));

        Assert.True(libStdCxx.Provides(_patch.Version) || state != WeakVersionState.Strong,
            $"{primary} still requires {_patch.Version} strongly and {libStdCxx.Path} ends at {libStdCxx.NewestGlibcxx}");
    }

    [Fact]
    public void The_system_libstdcxx_is_found_and_its_versions_are_read()
    {
        var info = SystemLibStdCxx.Inspect();

        Assert.NotNull(info.Path);
        Assert.Contains("GLIBCXX_3.4", info.Versions);
        Assert.StartsWith("GLIBCXX_3.4.", info.NewestGlibcxx);
    }
}
