using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Spectre.Console;
using TrainManager.Experiments;
using TrainManager.Stages;
using static TorchSharp.torch;
using TrainManager.Components;

namespace TrainManager.Extensions.Progress;

/// <summary>How <see cref="ProgressExtension"/> shows progress.</summary>
public enum ProgressMode
{
    /// <summary>A live bar when the console is an interactive terminal, lines otherwise.</summary>
    Auto,
    /// <summary>Always the live bar.</summary>
    Live,
    /// <summary>One plain line per epoch: for CI logs and files.</summary>
    Lines,
}

/// <summary>
/// Shows how training goes: in a terminal, a live bar with epoch, batch x/y, loss, samples/s and ETA; elsewhere
/// (CI logs, redirected output) one plain line per epoch. Cheap on the training thread: a batch costs a clock
/// read, the loss is read from the device only when the display refreshes (at most every
/// <see cref="RefreshInterval"/>), and rendering runs on a background task fed by a channel.
/// </summary>
public sealed class ProgressExtension : Extension, IDisposable
{
    /// <summary>Writes files (or the console): once, on rank 0, in a data-parallel run.</summary>
    public override RankScope Ranks => RankScope.RankZero;

    readonly IAnsiConsole _console;
    readonly long _refreshTicks;
    readonly bool _live;
    LiveBar? _bar;
    int _epochs, _batchesPerEpoch, _epoch, _firstEpoch;
    long _fitStarted, _epochStarted, _nextRefresh, _epochSamples;

    public ProgressExtension(IAnsiConsole? console = null, TimeSpan? refreshInterval = null, ProgressMode mode = ProgressMode.Auto)
    {
        _console = console ?? AnsiConsole.Console;
        RefreshInterval = refreshInterval ?? TimeSpan.FromMilliseconds(100);
        if (RefreshInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(refreshInterval), "The refresh interval must be positive, e.g. 100 ms.");
        _refreshTicks = (long)(RefreshInterval.TotalSeconds * Stopwatch.Frequency);
        _live = mode switch
        {
            ProgressMode.Live => true,
            ProgressMode.Lines => false,
            _ => _console.Profile.Capabilities.Interactive && _console.Profile.Capabilities.Ansi,
        };
    }

    /// <summary>Builds the extension from <c>{ type = progress, refresh-ms = 100, mode = auto|live|lines }</c>.</summary>
    /// <param name="console">Where it writes: the entry point's console (on a node, the run's log).</param>
    [Component("progress", Description = "live progress bar in a terminal, one line per epoch in logs")]
    public static ProgressExtension Create(IAnsiConsole? console = null,
        [Setting("milliseconds between display updates (at least 10)")] int refreshMs = 100,
        [Setting("auto, live or lines")] string mode = "auto")
    {
        if (refreshMs < 10)
            throw new ArgumentException($"refresh-ms must be at least 10 (milliseconds between display updates), but is {refreshMs}.");
        var modeText = mode;
        if (!Enum.TryParse<ProgressMode>(modeText, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            throw new ArgumentException($"mode must be auto, live or lines, but is \"{modeText}\".");
        return new ProgressExtension(console, TimeSpan.FromMilliseconds(refreshMs), parsed);
    }

    public override string Name => "progress";

    public TimeSpan RefreshInterval { get; }

    /// <summary>Whether the live bar is used (otherwise one line per epoch).</summary>
    public bool IsLive => _live;

    public void PreFit(int epochs, int batchesPerEpoch)
    {
        Stop(); // a trainer may fit again; each fit gets a fresh display
        _epochs = epochs;
        _batchesPerEpoch = batchesPerEpoch;
        _firstEpoch = 0;
        _fitStarted = Stopwatch.GetTimestamp();
        if (_live)
            _bar = LiveBar.Start(_console, Math.Max(1, (double)epochs * batchesPerEpoch), RefreshInterval, $"training {epochs} epochs");
    }

    /// <param name="epoch">The epoch's number, counted from 1.</param>
    public void PreEpoch(int epoch)
    {
        _epoch = epoch;
        if (_firstEpoch == 0)
            _firstEpoch = epoch; // a resumed fit starts past 1; the ETA counts only batches run here
        _epochStarted = Stopwatch.GetTimestamp();
        _epochSamples = 0;
        _nextRefresh = 0;
    }

    // loss is optional: a batch whose inner stages were skipped (a stop request, a skipping extension) defines none.
    public void PostBatch(int batchIndex, int batchSize, Tensor? loss = null)
    {
        _epochSamples += batchSize;
        if (_bar is null || loss is null)
            return;
        var now = Stopwatch.GetTimestamp();
        if (now < _nextRefresh)
            return;
        _nextRefresh = now + _refreshTicks;
        var done = (double)(_epoch - 1) * _batchesPerEpoch + batchIndex + 1;
        var lossValue = loss.item<float>(); // a device sync: only here, at display rate
        var samplesPerSecond = _epochSamples / Seconds(_epochStarted, now);
        _bar.Post(new BarUpdate(done,
            $"epoch {_epoch}/{_epochs}  batch {batchIndex + 1}/{_batchesPerEpoch}  loss {Number(lossValue, "0.0000")}  " +
            $"{Number(samplesPerSecond, "N0")} samples/s  ETA {Eta(done, now)}", null));
    }

    public void PostEpoch(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        var line = EpochLine(epoch, metrics);
        if (_bar is { Failed: false } bar)
            bar.Post(new BarUpdate((double)epoch * _batchesPerEpoch, null, line));
        else
            _console.Profile.Out.Writer.WriteLine(line); // unwrapped: a log line stays one line whatever the width
    }

    public void PostFit() => Stop();

    public override void OnFailure(StageFailure failure) => Stop();

    public override void OnRoutineEnd() => Stop();

    public void Dispose() => Stop();

    void Stop()
    {
        var bar = Interlocked.Exchange(ref _bar, null);
        bar?.Stop();
    }

    string EpochLine(int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        var parts = new List<string> { $"epoch {epoch}/{_epochs}" };
        foreach (var (key, value) in metrics)
            parts.Add(key switch
            {
                _ when key.EndsWith("_loss", StringComparison.Ordinal) => $"{key.Replace('_', ' ')} {Number(value, "0.0000")}",
                _ when IsFraction(key) => $"{key.Replace('_', ' ')} {Number(value * 100, "0.00")}%",
                "lr" => $"lr {Number(value, "G4")}",
                "samples_per_second" => $"{Number(value, "N0")} samples/s",
                "epoch_seconds" => $"{Number(value, "0.0")} s",
                _ => $"{key.Replace('_', ' ')} {Number(value, "G6")}",
            });
        return string.Join("  ", parts);
    }

    string Eta(double done, long now)
    {
        var doneHere = done - (double)(Math.Max(_firstEpoch, 1) - 1) * _batchesPerEpoch;
        var total = (double)_epochs * _batchesPerEpoch;
        if (doneHere <= 0)
            return "-";
        var remaining = TimeSpan.FromSeconds(Seconds(_fitStarted, now) / doneHere * Math.Max(0, total - done));
        return remaining.TotalHours >= 1 ? remaining.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : remaining.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>Accuracy and top-k accuracy read best as percentages.</summary>
    static bool IsFraction(string key) => key.EndsWith("accuracy", StringComparison.Ordinal) ||
        (key.LastIndexOf("top", StringComparison.Ordinal) is var at and >= 0 && key.Length > at + 3 && key[(at + 3)..].All(char.IsAsciiDigit));

    static double Seconds(long from, long to) => Math.Max((to - from) / (double)Stopwatch.Frequency, 1e-9);

    // NaN is what a skipped stage leaves (e.g. no validation after a stop); "-" reads better than "NaN".
    static string Number(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>One message to the renderer: the bar position, and a new description or a line to print above it.</summary>
    sealed record BarUpdate(double Done, string? Description, string? Line);

    /// <summary>
    /// Spectre's progress display on a background task. Its <c>Start</c> blocks the caller until the display ends,
    /// so it runs here, draining a channel that the training thread writes to without ever waiting.
    /// </summary>
    sealed class LiveBar
    {
        static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(2);

        readonly Channel<BarUpdate> _updates = Channel.CreateUnbounded<BarUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Task _rendering = Task.CompletedTask;

        public bool Failed => _rendering.IsFaulted;

        public static LiveBar Start(IAnsiConsole console, double total, TimeSpan refresh, string description)
        {
            var bar = new LiveBar();
            var updates = bar._updates.Reader;
            var progress = console.Progress()
                .AutoRefresh(true)
                .AutoClear(false)
                .HideCompleted(false)
                // The description carries the numbers; a short bar keeps the row within an 80-column terminal.
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 10 }, new PercentageColumn());
            progress.RefreshRate = refresh;
            bar._rendering = Task.Run(() => progress.StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(description), autoStart: true, maxValue: total);
                await foreach (var update in updates.ReadAllAsync())
                {
                    if (update.Line is { } line)
                        console.WriteLine(line);
                    if (update.Description is { } text)
                        task.Description = Markup.Escape(text);
                    task.Value = Math.Min(update.Done, total);
                }
                task.StopTask();
                context.Refresh();
            }));
            return bar;
        }

        public void Post(BarUpdate update) => _updates.Writer.TryWrite(update);

        /// <summary>Ends the display and waits briefly for its last frame, so what is printed next comes below it.</summary>
        public void Stop()
        {
            _updates.Writer.TryComplete();
            try
            {
                _rendering.Wait(StopTimeout);
            }
            catch (AggregateException)
            {
                // The display failed (e.g. another live display owned the console); epoch lines were printed instead.
            }
        }
    }
}
