using System.Formats.Tar;
using System.Security.Cryptography;
using TrainManager.Components;
using TrainManager.Protocol.Bundles;

namespace TrainManager.Tests.Protocol;

/// <summary>A training project's build packed as a content-addressed bundle: the same build gives the same bytes and
/// name, the framework's own assemblies stay out, and whatever does not match its name or manifest is refused.</summary>
public sealed class ProjectBundleTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("bundle-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    ProjectBuild Build(string folder, Func<string, byte[]>? content = null)
    {
        var output = Path.Combine(_root, folder);
        content ??= name => System.Text.Encoding.UTF8.GetBytes("contents of " + name);
        foreach (var file in new[] { "MyModels.dll", "MyModels.deps.json", "CsvHelper.dll", "TrainManager.Core.dll", "runtimes/linux-x64/native/libmine.so" })
        {
            var path = Path.Combine(output, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, content(file));
        }
        File.WriteAllText(Path.Combine(output, ProjectBuild.DescriptionFile), "{}");
        return new ProjectBuild(Path.Combine(_root, "MyModels.csproj"), output, "MyModels.dll");
    }

    static bool Framework(string file) => file == "TrainManager.Core.dll";

    [Fact]
    public void The_same_build_packs_to_the_same_bytes_whenever_and_wherever_its_files_were_written()
    {
        var first = ProjectBundle.Pack(Build("a"), "1.2.3", Framework);
        var second = Build("b");
        foreach (var file in Directory.GetFiles(second.OutputDirectory, "*", SearchOption.AllDirectories))
            File.SetLastWriteTimeUtc(file, new DateTime(2031, 5, 6, 7, 8, 9, DateTimeKind.Utc));

        var again = ProjectBundle.Pack(second, "1.2.3", Framework);

        Assert.Equal(first.Hash, again.Hash);
        Assert.Equal(first.Bytes, again.Bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(first.Bytes)), first.Hash);
    }

    [Fact]
    public void Another_byte_in_any_file_is_another_bundle()
    {
        var one = ProjectBundle.Pack(Build("a"), "1.2.3", Framework);
        var other = ProjectBundle.Pack(Build("b", name => System.Text.Encoding.UTF8.GetBytes(name == "libmine.so" || name.EndsWith("libmine.so") ? "changed" : "contents of " + name)), "1.2.3", Framework);

        Assert.NotEqual(one.Hash, other.Hash);
    }

    [Fact]
    public void It_holds_the_project_its_dependencies_and_native_files_but_not_the_framework()
    {
        var bundle = ProjectBundle.Pack(Build("a"), "1.2.3", Framework);

        Assert.Equal(["CsvHelper.dll", "MyModels.deps.json", "MyModels.dll", "runtimes/linux-x64/native/libmine.so"],
            bundle.Manifest.Files.Select(f => f.Path));
        Assert.Equal("MyModels.dll", bundle.Manifest.Assembly);
        Assert.Equal("1.2.3", bundle.Manifest.FrameworkVersion);
    }

    [Fact]
    public void Read_back_and_extracted_it_is_the_build_it_was_made_from()
    {
        var build = Build("a");
        var bundle = ProjectBundle.Pack(build, "1.2.3", Framework);

        var read = ProjectBundle.Read(bundle.Bytes, bundle.Hash);
        var extracted = read.ExtractTo(Path.Combine(_root, "extracted"));

        Assert.Equal("MyModels.dll", extracted.AssemblyFile);
        foreach (var file in bundle.Manifest.Files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(build.OutputDirectory, file.Path)), File.ReadAllBytes(Path.Combine(extracted.OutputDirectory, file.Path)));
        Assert.False(File.Exists(Path.Combine(extracted.OutputDirectory, "TrainManager.Core.dll")));
    }

    public static TheoryData<string, Func<byte[], byte[]>, string> Damage => new()
    {
        { "a flipped byte", bytes => { var copy = (byte[])bytes.Clone(); copy[copy.Length / 2] ^= 0x40; return copy; }, "hashes to" },
        { "cut short", bytes => bytes[..(bytes.Length / 2)], "hashes to" },
        { "nothing", _ => [], "hashes to" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void A_damaged_bundle_is_refused_before_anything_is_read(string what, Func<byte[], byte[]> damage, string message)
    {
        var bundle = ProjectBundle.Pack(Build("a"), "1.2.3", Framework);

        var refused = Assert.Throws<BundleCorruptException>(() => ProjectBundle.Read(damage(bundle.Bytes), bundle.Hash));

        Assert.Contains(message, refused.Message);
        Assert.True(TrainManager.Experiments.BadInput.Is(refused), what);
    }

    [Fact]
    public void A_bundle_asked_for_by_another_name_is_refused()
    {
        var one = ProjectBundle.Pack(Build("a"), "1.2.3", Framework);
        var other = ProjectBundle.Pack(Build("b"), "1.2.4", Framework);

        var refused = Assert.Throws<BundleCorruptException>(() => ProjectBundle.Read(other.Bytes, one.Hash));
        Assert.Contains(one.Hash, refused.Message);
    }

    [Theory]
    [InlineData("../escape.dll")]
    [InlineData("/etc/escape.dll")]
    [InlineData("a/../../escape.dll")]
    public void A_crafted_bundle_naming_a_file_outside_its_folder_is_refused(string path)
    {
        var bytes = Crafted(path);

        var refused = Assert.Throws<BundleCorruptException>(() => ProjectBundle.Read(bytes, Convert.ToHexStringLower(SHA256.HashData(bytes))));

        Assert.Contains("outside its own folder", refused.Message);
        Assert.False(File.Exists(Path.Combine(_root, "escape.dll")));
    }

    [Fact]
    public void A_file_that_is_not_what_the_manifest_lists_is_refused_even_under_the_right_name()
    {
        var bytes = Crafted("Evil.dll", listedSha256: new string('0', 64));

        var refused = Assert.Throws<BundleCorruptException>(() => ProjectBundle.Read(bytes, Convert.ToHexStringLower(SHA256.HashData(bytes))));

        Assert.Contains("does not match its manifest entry Evil.dll", refused.Message);
        ProjectBundle.Read(Crafted("Evil.dll"), Convert.ToHexStringLower(SHA256.HashData(Crafted("Evil.dll"))));
    }

    [Fact]
    public void A_bundle_for_another_framework_version_is_refused_naming_both()
    {
        var bundle = ProjectBundle.Pack(Build("a"), "0.11.0", Framework);

        var refused = Assert.Throws<BundleVersionException>(() => bundle.RequireFramework("0.13.0"));

        Assert.Contains("0.11.0", refused.Message);
        Assert.Contains("0.13.0", refused.Message);
        bundle.RequireFramework("0.11.0");
    }

    [Fact]
    public void The_running_framework_version_is_the_packages_version()
    {
        var version = ProjectBundle.RunningFrameworkVersion();

        Assert.Matches(@"^\d+\.\d+\.\d+", version);
        Assert.DoesNotContain("+", version);
    }

    /// <summary>A bundle whose manifest names <paramref name="path"/> and whose archive holds it (as an attacker would write).</summary>
    static byte[] Crafted(string path, string? listedSha256 = null)
    {
        var content = "MZ"u8.ToArray();
        var manifest = new BundleManifest(ProjectBundle.FormatVersion, "Evil.csproj", path, "1.2.3",
            [new BundleFile(path, content.Length, listedSha256 ?? Convert.ToHexStringLower(SHA256.HashData(content)))]);
        using var archive = new MemoryStream();
        using (var writer = new TarWriter(archive, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(manifest)) });
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "files/" + path) { DataStream = new MemoryStream(content) });
        }
        return archive.ToArray();
    }
}
