namespace TrainManager.Extensions.Plots;

/// <summary>
/// When to redraw a picture: something asked for a refresh (<see cref="Request"/>) and the last drawing is at least
/// <see cref="MinInterval"/> old. Drawing a PNG takes tens of milliseconds; a few seconds between drawings keep an
/// observer's backlog short however often refreshes are requested.
/// </summary>
public sealed class RenderSchedule(TimeSpan minInterval, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private long? _lastRender;

    public TimeSpan MinInterval { get; } = minInterval >= TimeSpan.Zero
        ? minInterval
        : throw new ArgumentOutOfRangeException(nameof(minInterval), minInterval, "The interval between drawings cannot be negative.");

    /// <summary>A refresh was requested and not drawn yet.</summary>
    public bool Requested { get; private set; }

    public void Request() => Requested = true;

    /// <summary>True when a requested refresh may be drawn now.</summary>
    public bool Due =>
        Requested && (_lastRender is not { } last || _clock.GetElapsedTime(last) >= MinInterval);

    /// <summary>Records that the picture was drawn now.</summary>
    public void Rendered()
    {
        Requested = false;
        _lastRender = _clock.GetTimestamp();
    }
}
