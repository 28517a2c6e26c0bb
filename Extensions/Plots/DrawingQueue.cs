namespace TrainManager.Extensions.Plots;

/// <summary>
/// Draws pictures on a worker thread so that an inline extension never makes training wait for a PNG. Drawings are
/// keyed by file: a newer request for the same file replaces one that has not started (only the latest picture
/// matters), so the queue never grows beyond one entry per file. A failed drawing is reported and the rest go on.
/// </summary>
/// <remarks>
/// An inline extension has no actor of its own to hand work to; a single worker task started on demand is the
/// smallest thing that keeps the drawing off the training thread.
/// </remarks>
public sealed class DrawingQueue(Action<string> log)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Action> _pending = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private Task _worker = Task.CompletedTask;
    private bool _running;

    public void Submit(string file, Action draw)
    {
        lock (_gate)
        {
            if (!_pending.ContainsKey(file)) _order.Enqueue(file);
            _pending[file] = draw;
            if (_running) return;
            _running = true;
            _worker = Task.Run(Drain);
        }
    }

    /// <summary>Waits until every drawing submitted so far is done (or <paramref name="timeout"/> has passed).</summary>
    public bool WaitIdle(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task worker;
            lock (_gate)
            {
                if (!_running) return true;
                worker = _worker;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !worker.Wait(left)) return false;
        }
    }

    private void Drain()
    {
        while (true)
        {
            string file;
            Action draw;
            lock (_gate)
            {
                // Deciding "nothing left" and clearing the flag under one lock: a Submit after this starts a new worker.
                if (_order.Count == 0)
                {
                    _running = false;
                    return;
                }
                file = _order.Dequeue();
                draw = _pending[file];
                _pending.Remove(file);
            }
            try
            {
                draw();
            }
            catch (Exception e)
            {
                log($"[plots] drawing {file} failed: {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
