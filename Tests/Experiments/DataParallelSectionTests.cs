using TrainManager.Experiments;
using static TrainManager.Tests.Experiments.ExperimentText;

namespace TrainManager.Tests.Experiments;

/// <summary>The <c>data-parallel { ... }</c> block: how it is read, refused, overridden and written back.</summary>
public sealed class DataParallelSectionTests
{
    [Fact]
    public void Without_the_block_the_record_defaults_apply()
    {
        var e = ExperimentLoader.Parse(MinimalWith("workers = 4"), "exp.hocon");

        Assert.Equal(new DataParallelSection(), e.DataParallel);
        Assert.Equal(
            (1, TimeSpan.FromSeconds(60), 4 << 20, TimeSpan.FromSeconds(30)),
            (e.DataParallel.MinWorkers, e.DataParallel.ReplacementWait, e.DataParallel.BucketBytes, e.DataParallel.Timeout));
    }

    [Fact]
    public void Every_key_of_the_block_is_read()
    {
        var e = ExperimentLoader.Parse(MinimalWith(
            "workers = 4",
            "data-parallel {",
            "  min-workers = 2",
            "  replacement-wait = 2m",
            "  bucket-size = 512 KiB",
            "  timeout = 500ms",
            "}"), "exp.hocon");

        Assert.Equal(new DataParallelSection
        {
            MinWorkers = 2, ReplacementWait = TimeSpan.FromMinutes(2), BucketBytes = 512 << 10, Timeout = TimeSpan.FromMilliseconds(500),
        }, e.DataParallel);
    }

    [Fact]
    public void Keys_left_out_of_the_block_keep_their_defaults()
    {
        var e = ExperimentLoader.Parse(MinimalWith("workers = 2", "data-parallel { min-workers = 2 }"));

        Assert.Equal(new DataParallelSection { MinWorkers = 2 }, e.DataParallel);
    }

    [Theory]
    [InlineData("60 s", 60_000)]
    [InlineData("60s", 60_000)]
    [InlineData("2m", 120_000)]
    [InlineData("1.5 m", 90_000)]
    [InlineData("500ms", 500)]
    [InlineData("10 seconds", 10_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("\"45 s\"", 45_000)]
    [InlineData("0", 0)]
    [InlineData("0s", 0)]
    public void Replacement_wait_is_a_hocon_duration(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds),
            ExperimentLoader.Parse(MinimalWith($"data-parallel.replacement-wait = {text}")).DataParallel.ReplacementWait);

    [Theory]
    [InlineData("4 MiB", 4 << 20)]
    [InlineData("4MiB", 4 << 20)]
    [InlineData("512 KiB", 512 << 10)]
    [InlineData("1 GiB", 1 << 30)]
    [InlineData("65536", 65536)]
    [InlineData("4", 4)]
    [InlineData("4 bytes", 4)]
    [InlineData("1 MB", 1_000_000)]
    public void Bucket_size_is_a_hocon_byte_size_or_a_number_of_bytes(string text, int bytes) =>
        Assert.Equal(bytes, ExperimentLoader.Parse(MinimalWith($"data-parallel.bucket-size = {text}")).DataParallel.BucketBytes);

    [Fact]
    public void Timeout_is_a_hocon_duration() =>
        Assert.Equal(TimeSpan.FromSeconds(90), ExperimentLoader.Parse(MinimalWith("data-parallel { timeout = 90 s }")).DataParallel.Timeout);

    [Theory]
    [InlineData("min-workers = 0", "data-parallel.min-workers", "'data-parallel.min-workers' must be at least 1, but is 0.")]
    [InlineData("min-workers = two", "data-parallel.min-workers", "'data-parallel.min-workers' must be a whole number, but is \"two\"")]
    [InlineData("replacement-wait = ten seconds", "data-parallel.replacement-wait",
        "'data-parallel.replacement-wait' must be a duration such as 60 s, 500 ms or 2 m (units: ms, s, m, h, d), but is \"ten seconds\". Write e.g. replacement-wait = 60 s.")]
    [InlineData("replacement-wait = -5 s", "data-parallel.replacement-wait", "'data-parallel.replacement-wait' must be 0 or longer, but is \"-5 s\".")]
    [InlineData("replacement-wait = infinite", "data-parallel.replacement-wait", "must be a duration such as 60 s")]
    [InlineData("replacement-wait = 60", "data-parallel.replacement-wait",
        "'data-parallel.replacement-wait' needs a unit, but is \"60\" (HOCON would read a bare number as milliseconds). Write replacement-wait = 60 s for seconds")]
    [InlineData("replacement-wait = 99999999 d", "data-parallel.replacement-wait", "longer than a duration can be")]
    [InlineData("replacement-wait { s = 60 }", "data-parallel.replacement-wait", "'data-parallel.replacement-wait' must be a duration, but is a block")]
    [InlineData("timeout = 0 s", "data-parallel.timeout", "'data-parallel.timeout' must be longer than 0, but is 0s. Write e.g. timeout = 30 s.")]
    [InlineData("timeout = soon", "data-parallel.timeout", "'data-parallel.timeout' must be a duration such as 30 s")]
    [InlineData("bucket-size = 2", "data-parallel.bucket-size",
        "'data-parallel.bucket-size' must be between 4 bytes (one float) and 1 GiB, but is 2 bytes. Write e.g. bucket-size = 4 MiB.")]
    [InlineData("bucket-size = 2 GiB", "data-parallel.bucket-size", "must be between 4 bytes (one float) and 1 GiB, but is 2147483648 bytes.")]
    [InlineData("bucket-size = -4", "data-parallel.bucket-size", "must be between 4 bytes (one float) and 1 GiB, but is -4 bytes.")]
    [InlineData("bucket-size = lots", "data-parallel.bucket-size",
        "'data-parallel.bucket-size' must be a size in bytes such as 4 MiB, 512 KiB or 65536 (units: bytes, KiB, MiB, GiB; whole numbers), but is \"lots\".")]
    [InlineData("bucket-size = 1.5 MiB", "data-parallel.bucket-size", "must be a size in bytes such as 4 MiB")]
    [InlineData("bucket-size = 4 XiB", "data-parallel.bucket-size", "must be a size in bytes such as 4 MiB")]
    [InlineData("bucket-size = [4]", "data-parallel.bucket-size", "'data-parallel.bucket-size' must be a size in bytes, but is a list")]
    public void A_bad_value_is_refused_with_its_file_line_key_and_an_example(string line, string keyPath, string message)
    {
        var text = MinimalWith("workers = 4", "data-parallel {", $"  {line}", "}");

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(text, "exp.hocon"));

        Assert.Equal(keyPath, error.KeyPath);
        Assert.Equal(7, error.Line);
        Assert.StartsWith("exp.hocon, line 7: ", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Min_workers_above_workers_is_refused_with_both_values_and_the_fix()
    {
        var text = MinimalWith("workers = 2", "data-parallel {", "  min-workers = 3", "}");

        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(text, "exp.hocon"));

        Assert.Equal(7, error.Line);
        Assert.Equal("data-parallel.min-workers", error.KeyPath);
        Assert.Equal(
            "exp.hocon, line 7: 'data-parallel.min-workers' is 3, but 'workers' is 2: a run cannot need more workers than it has. "
            + "Lower min-workers to 2 or less, or raise workers to 3 or more.",
            error.Message);
    }

    [Fact]
    public void Min_workers_is_checked_against_the_default_of_one_worker()
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith("data-parallel.min-workers = 2"), "exp.hocon"));

        Assert.Contains("'workers' is 1", error.Message);
    }

    [Theory]
    [InlineData("min-worker = 2", "Did you mean 'min-workers'?")]
    [InlineData("bucket-bytes = 4096", "Did you mean 'bucket-size'?")]
    [InlineData("replacement = 10 s", "Known keys in 'data-parallel': min-workers, replacement-wait, bucket-size, timeout, transport.")]
    public void An_unknown_key_in_the_block_is_refused_with_a_suggestion(string line, string hint)
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith("data-parallel {", $"  {line}", "}"), "exp.hocon"));

        Assert.Equal(6, error.Line);
        Assert.StartsWith($"exp.hocon, line 6: unknown key 'data-parallel.{line.Split(' ')[0]}'.", error.Message);
        Assert.Contains(hint, error.Message);
    }

    [Fact]
    public void A_misspelt_block_name_suggests_data_parallel()
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith("data_parallel { timeout = 5 s }"), "exp.hocon"));

        Assert.Equal(5, error.Line);
        Assert.Contains("Did you mean 'data-parallel'?", error.Message);
    }

    [Fact]
    public void The_block_must_be_a_block()
    {
        var error = Assert.Throws<ExperimentException>(() => ExperimentLoader.Parse(MinimalWith("data-parallel = 2"), "exp.hocon"));

        Assert.Equal(5, error.Line);
        Assert.Contains("'data-parallel' must be a block", error.Message);
    }

    [Fact]
    public void An_override_sets_min_workers()
    {
        var e = ExperimentLoader.Parse(MinimalWith("workers = 4"), "exp.hocon", ["data-parallel.min-workers=2"]);

        Assert.Equal(2, e.DataParallel.MinWorkers);
        Assert.Equal([new KeyValuePair<string, string>("data-parallel.min-workers", "2")], e.Overrides);
    }

    [Fact]
    public void Overrides_take_durations_and_sizes_as_written_on_the_command_line()
    {
        var e = ExperimentLoader.Parse(MinimalWith("workers = 4"), "exp.hocon",
            ["data-parallel.replacement-wait=2m", "data-parallel.bucket-size=1 MiB", "data-parallel.timeout=10 s"]);

        Assert.Equal(new DataParallelSection { ReplacementWait = TimeSpan.FromMinutes(2), BucketBytes = 1 << 20, Timeout = TimeSpan.FromSeconds(10) },
            e.DataParallel);
    }

    [Fact]
    public void An_override_of_min_workers_above_workers_names_the_override()
    {
        var error = Assert.Throws<ExperimentException>(() =>
            ExperimentLoader.Parse(MinimalWith("workers = 2"), "exp.hocon", ["data-parallel.min-workers=3"]));

        Assert.Equal("--set data-parallel.min-workers=3", error.Origin);
        Assert.StartsWith("--set data-parallel.min-workers=3: 'data-parallel.min-workers' is 3, but 'workers' is 2", error.Message);
    }

    [Fact]
    public void The_resolved_hocon_spells_out_the_defaults()
    {
        var e = ExperimentLoader.Parse(MinimalWith());

        Assert.Contains(
            "data-parallel {\n  min-workers = 1\n  replacement-wait = 60s\n  bucket-size = 4MiB\n  timeout = 30s\n  transport = \"auto\"\n}\n",
            e.ResolvedHocon.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("2m", "4 MiB", "500ms")]
    [InlineData("0", "4", "1 ms")]
    [InlineData("1.2345678 s", "65537", "0.5 ms")]
    [InlineData("36 h", "3 KiB", "7 micros")]
    [InlineData("10675199 d", "1 GiB", "1.5 m")]
    [InlineData("90 s", "1 MB", "3 d")]
    public void The_block_round_trips_through_the_resolved_hocon(string wait, string size, string timeout)
    {
        var first = ExperimentLoader.Parse(MinimalWith("workers = 3", "data-parallel {", "  min-workers = 2",
            $"  replacement-wait = {wait}", $"  bucket-size = {size}", $"  timeout = {timeout}", "}"));

        var second = ExperimentLoader.Parse(first.ResolvedHocon);

        Assert.Equal(first.DataParallel, second.DataParallel);
        Assert.Equal(first.Workers, second.Workers);
        Assert.Equal(first.ResolvedHocon, second.ResolvedHocon);
    }

    [Fact]
    public void The_commented_block_in_the_mlp_example_shows_the_defaults()
    {
        var file = Path.Combine(RepositoryRoot, "examples", "fashion-mnist-mlp.hocon");
        var lines = File.ReadAllLines(file);
        var start = Array.FindIndex(lines, l => l.StartsWith("# data-parallel {", StringComparison.Ordinal));
        var end = Array.FindIndex(lines, start, l => l.StartsWith("# }", StringComparison.Ordinal));
        Assert.True(start >= 0 && end > start, $"no commented data-parallel block in {file}");
        var uncommented = lines[..start].Concat(lines[start..(end + 1)].Select(l => l[2..])).Concat(lines[(end + 1)..]);

        var e = ExperimentLoader.Parse(Lines([.. uncommented]), file);

        Assert.Equal(1, e.Workers);
        Assert.Equal(new DataParallelSection(), e.DataParallel);
    }

    [Theory]
    [InlineData(0L, "0s")]
    [InlineData(600_000_000L, "60s")]
    [InlineData(5_000_000L, "500ms")]
    [InlineData(12_345_678L, "1234567800ns")]
    public void Durations_are_written_in_the_largest_exact_unit(long ticks, string hocon) =>
        Assert.Equal(hocon, ExperimentHoconWriter.Duration(TimeSpan.FromTicks(ticks)));

    [Theory]
    [InlineData(4L << 20, "4MiB")]
    [InlineData(512L << 10, "512KiB")]
    [InlineData(1L << 30, "1GiB")]
    [InlineData(65537L, "65537")]
    [InlineData(4L, "4")]
    public void Sizes_are_written_in_the_largest_exact_binary_unit(long bytes, string hocon) =>
        Assert.Equal(hocon, ExperimentHoconWriter.ByteSize(bytes));

    [Fact]
    public void A_negative_duration_cannot_be_written() =>
        Assert.Throws<ArgumentException>(() => ExperimentHoconWriter.Duration(TimeSpan.FromSeconds(-1)));
}
