using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using TorchSharp;
using TrainManager.Distributed;
using TrainManager.Node.GradientExchange.InProcess;
using TrainManager.Node.GradientExchange.Ring;
using static TorchSharp.torch;

namespace TrainManager.Bench;

/// <summary>
/// Ring all-reduce on loopback against plain TCP, interleaved round by round so that the load of a shared machine
/// hits both alike. Reports the bus bandwidth, bytes × 2(N−1)/N / time (what each rank's link carries per second,
/// comparable across N, as NCCL reports it), for a flat float buffer, for the same bytes as one tensor (how the
/// data-parallel extension reduces gradients: they are views of one buffer, reduced where they lie) and as a list of
/// separate tensors (AllReduceMean packing the small ones into the host bucket), and its ratio to one socket pair streaming the same bytes. On a machine
/// with fewer cores than ranks that ratio is bounded by the cores, not the ring, so it is also compared with N socket
/// pairs streaming the same bytes each at once: as many links as the ring uses, sharing the cores as its ranks do.
/// The in-process exchange (ranks in one process, <c>data-parallel.transport = in-process</c>) reduces the same
/// gradients alongside, for its time against the ring's.
/// <code>dotnet run -c Release --project bench/Bench -- allreduce [--ranks 2,4] [--megabytes 25] [--iterations 10] [--warmup 2] [--socket-buffer BYTES] [--bucket BYTES]</code>
/// </summary>
public static class AllReduceBenchmark
{
    private sealed record Options(int[] Ranks, double Megabytes, int Iterations, int Warmup, int SocketBufferBytes, int BucketBytes);

    private const double Target = 0.5;

    public static int Run(string[] args)
    {
        var options = Parse(args);
        var elements = (int)(options.Megabytes * 1e6 / sizeof(float));
        var bytes = elements * sizeof(float);
        var ringOptions = new RingOptions { SocketBufferBytes = options.SocketBufferBytes, BucketBytes = options.BucketBytes };
        Console.WriteLine($"All-reduce benchmark: {bytes / 1e6:F1} MB of float32, median of {options.Iterations} rounds after {options.Warmup} warm-up, " +
                          $"{Environment.ProcessorCount} cores, socket buffers {(options.SocketBufferBytes == 0 ? "kernel-tuned" : $"{options.SocketBufferBytes} B")}, " +
                          $"bucket {options.BucketBytes} B");

        using var pair = new SocketPair(bytes, ringOptions);
        var rings = options.Ranks.Select(n => LocalRanks.Ring(n, elements, ringOptions)).ToArray();
        var exchanges = options.Ranks.Select(n => LocalRanks.InProcess(n, elements, ringOptions)).ToArray();
        var links = options.Ranks.Select(n => new ConcurrentLinks(n, bytes, ringOptions)).ToArray();
        try
        {
            var tcp = new List<double>();
            var concurrent = rings.Select(_ => new List<double>()).ToArray();
            var flat = rings.Select(_ => new List<double>()).ToArray();
            var tensors = rings.Select(_ => new List<double>()).ToArray();
            var gradients = rings.Select(_ => new List<double>()).ToArray();
            var inProcessGradients = rings.Select(_ => new List<double>()).ToArray();
            var inProcessTensors = rings.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < options.Warmup + options.Iterations; round++)
            {
                var measured = round >= options.Warmup;
                Record(measured, tcp, pair.StreamSeconds());
                for (var i = 0; i < rings.Length; i++)
                {
                    Record(measured, concurrent[i], links[i].Seconds());
                    Record(measured, flat[i], rings[i].Seconds(Collective.FloatBuffer));
                    Record(measured, gradients[i], rings[i].Seconds(Collective.OneTensor));
                    Record(measured, tensors[i], rings[i].Seconds(Collective.TensorList));
                    Record(measured, inProcessGradients[i], exchanges[i].Seconds(Collective.OneTensor));
                    Record(measured, inProcessTensors[i], exchanges[i].Seconds(Collective.TensorList));
                }
            }

            var tcpBandwidth = bytes / Statistics.Median(tcp);
            Console.WriteLine($"plain TCP loopback, one socket pair: {tcpBandwidth / 1e9:F2} GB/s");
            var perLink = concurrent.Select(times => bytes / Statistics.Median(times)).ToArray();
            for (var i = 0; i < links.Length; i++)
                Console.WriteLine($"plain TCP loopback, {links[i].Count} socket pairs at once: {perLink[i] / 1e9:F2} GB/s per stream " +
                                  $"({links[i].Count * perLink[i] / 1e9:F2} GB/s together)");
            Console.WriteLine("ratio to TCP: bus bandwidth / one socket pair (the target's figure); " +
                              "ring vs N concurrent links: bus bandwidth / per-stream throughput of N socket pairs streaming at once");
            for (var i = 0; i < rings.Length; i++)
            {
                var n = rings[i].WorldSize;
                foreach (var (what, times) in new[] { ("flat buffer", flat[i]), ("gradients  ", gradients[i]), ("tensor list", tensors[i]) })
                {
                    var seconds = Statistics.Median(times);
                    var bus = bytes * 2.0 * (n - 1) / n / seconds;
                    Console.WriteLine($"N={n} {what}: {seconds * 1e3,6:F1} ms   bus bandwidth {bus / 1e9:F2} GB/s   ratio to TCP {bus / tcpBandwidth:F2} " +
                                      $"(target >= {Target})   N x bus / TCP {n * bus / tcpBandwidth:F2}   " +
                                      $"ring vs {n} concurrent links {bus / perLink[i]:F2}");
                }
            }
            Console.WriteLine("in-process exchange (ranks in one process share memory; same sums as the ring): time, and the ring's time over it");
            for (var i = 0; i < rings.Length; i++)
                foreach (var (what, times, ringTimes) in new[] { ("gradients  ", inProcessGradients[i], gradients[i]), ("tensor list", inProcessTensors[i], tensors[i]) })
                {
                    var seconds = Statistics.Median(times);
                    Console.WriteLine($"N={exchanges[i].WorldSize} in-process {what}: {seconds * 1e3,6:F1} ms   ring / in-process {Statistics.Median(ringTimes) / seconds:F2}");
                }
            Console.WriteLine($"Here the N ranks share {Environment.ProcessorCount} cores and each one sends and receives its bus bytes, so the bus " +
                              "ratio falls as N grows; N x bus / TCP compares the bytes all ranks move per second with the socket pair's " +
                              "(about 1: as efficient as plain TCP). With a host per rank the links run side by side. N socket pairs " +
                              "at once share the cores as the N ranks do, so ring vs N concurrent links is the ring's own efficiency " +
                              "(about 1: its links as fast as plain TCP under the same load).");
        }
        finally
        {
            foreach (var link in links)
                link.Dispose();
            foreach (var ranks in rings.Concat(exchanges))
                ranks.Dispose();
        }
        return 0;
    }

    private static void Record(bool measured, List<double> times, double seconds)
    {
        if (measured)
            times.Add(seconds);
    }

    /// <summary>One connection over loopback, a sender thread streaming into a receiving one.</summary>
    private sealed class SocketPair : IDisposable
    {
        private readonly Socket _sender;
        private readonly Socket _receiver;
        private readonly byte[] _outgoing;
        private readonly byte[] _incoming;

        public SocketPair(int bytes, RingOptions options)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            Tune(listener, options);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            _sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            Tune(_sender, options);
            _sender.Connect(listener.LocalEndPoint!);
            _receiver = listener.Accept();
            Tune(_receiver, options);
            _outgoing = new byte[bytes];
            _incoming = new byte[bytes];
        }

        public double StreamSeconds()
        {
            var clock = Stopwatch.StartNew();
            Stream();
            return clock.Elapsed.TotalSeconds;
        }

        /// <summary>Moves the bytes once, sending on a thread of its own and receiving on the caller's.</summary>
        public void Stream()
        {
            var send = new Thread(() =>
            {
                for (var sent = 0; sent < _outgoing.Length;)
                    sent += _sender.Send(_outgoing.AsSpan(sent));
            });
            send.Start();
            for (var received = 0; received < _incoming.Length;)
                received += _receiver.Receive(_incoming.AsSpan(received));
            send.Join();
        }

        public void Dispose()
        {
            _sender.Dispose();
            _receiver.Dispose();
        }

        // The ring's own settings: NoDelay, and the buffer sizes when given.
        private static void Tune(Socket socket, RingOptions options)
        {
            socket.NoDelay = true;
            if (options.SocketBufferBytes > 0)
            {
                socket.SendBufferSize = options.SocketBufferBytes;
                socket.ReceiveBufferSize = options.SocketBufferBytes;
            }
        }
    }

    /// <summary>As many socket pairs as a ring of that size has links, each streaming the same bytes, all at once.</summary>
    private sealed class ConcurrentLinks : IDisposable
    {
        private readonly SocketPair[] _pairs;

        public ConcurrentLinks(int count, int bytes, RingOptions options) =>
            _pairs = Enumerable.Range(0, count).Select(_ => new SocketPair(bytes, options)).ToArray();

        public int Count => _pairs.Length;

        /// <summary>From the first pair leaving the barrier to the last one finishing, timed as the ring is.</summary>
        public double Seconds()
        {
            using var barrier = new Barrier(Count);
            return Concurrently(Count, _ => barrier.SignalAndWait(), link => _pairs[link].Stream());
        }

        public void Dispose()
        {
            foreach (var pair in _pairs)
                pair.Dispose();
        }
    }

    /// <summary>Runs <paramref name="work"/> for 0..count-1 on a thread each, after <paramref name="ready"/> (a barrier):
    /// the seconds from the first thread starting its work to the last one finishing.</summary>
    private static double Concurrently(int count, Action<int> ready, Action<int> work)
    {
        var started = new long[count];
        var finished = new long[count];
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            ready(i);
            started[i] = Stopwatch.GetTimestamp();
            work(i);
            finished[i] = Stopwatch.GetTimestamp();
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        foreach (var thread in threads)
            thread.Join();
        return (finished.Max() - started.Min()) / (double)Stopwatch.Frequency;
    }

    private enum Collective
    {
        /// <summary>AllReduceSum of a float array.</summary>
        FloatBuffer,
        /// <summary>AllReduceMean of one float32 tensor: the data-parallel extension's gradient buffer.</summary>
        OneTensor,
        /// <summary>AllReduceMean of separate gradient-like tensors.</summary>
        TensorList,
    }

    /// <summary>N ranks of one transport in this process (a loopback ring, or an in-process exchange), each with its
    /// own buffer, gradient buffer and gradient-like tensors.</summary>
    private sealed class LocalRanks : IDisposable
    {
        private readonly RingListener[] _listeners;
        private readonly IGradientTransport[] _ranks;
        private readonly float[][] _buffers;
        private readonly Tensor[] _gradients;
        private readonly Tensor[][] _tensors;

        public static LocalRanks Ring(int worldSize, int elements, RingOptions options)
        {
            var listeners = Enumerable.Range(0, worldSize).Select(_ => RingListener.Start(new IPEndPoint(IPAddress.Loopback, 0), options)).ToArray();
            var peers = listeners.Select(l => l.EndPoint).ToArray();
            var token = RingMembership.NewToken();
            var ranks = Task.WhenAll(Enumerable.Range(0, worldSize).Select(rank =>
                RingAllReduce.ConnectAsync(new RingMembership(rank, worldSize, peers, token), listeners[rank], options))).GetAwaiter().GetResult();
            return new LocalRanks(ranks, listeners, elements);
        }

        public static LocalRanks InProcess(int worldSize, int elements, RingOptions options)
        {
            var exchanges = new InProcessExchanges();
            var inProcess = new InProcessOptions { BucketBytes = options.BucketBytes };
            var ranks = new IGradientTransport[worldSize];
            var joining = Enumerable.Range(0, worldSize).Select(rank => new Thread(() => ranks[rank] = exchanges.Join("bench", rank, worldSize, inProcess))).ToArray();
            foreach (var thread in joining)
                thread.Start();
            foreach (var thread in joining)
                thread.Join();
            return new LocalRanks(ranks, [], elements);
        }

        private LocalRanks(IGradientTransport[] ranks, RingListener[] listeners, int elements)
        {
            _ranks = ranks;
            _listeners = listeners;
            var worldSize = ranks.Length;
            // Small values: summed N-fold every round, they must stay far from overflow (and from denormals).
            _buffers = Enumerable.Range(0, worldSize).Select(_ => Enumerable.Repeat(1e-3f, elements).ToArray()).ToArray();
            _gradients = Enumerable.Range(0, worldSize).Select(_ => full(elements, 1e-3f)).ToArray();
            _tensors = Enumerable.Range(0, worldSize).Select(_ => GradientLike(elements)).ToArray();
        }

        public int WorldSize => _ranks.Length;

        /// <summary>One collective on every rank, each on its own thread as a worker's training loop would call it; it
        /// lasts from the first rank leaving the barrier before it to the last rank finishing.</summary>
        public double Seconds(Collective collective) =>
            Concurrently(WorldSize, rank => _ranks[rank].Barrier(), rank =>
            {
                switch (collective)
                {
                    case Collective.FloatBuffer: // the ring's own span collective; the in-process exchange has tensors only
                        ((RingAllReduce)_ranks[rank]).AllReduceSum(_buffers[rank]);
                        break;
                    case Collective.OneTensor:
                        _ranks[rank].AllReduceMean([_gradients[rank]]);
                        break;
                    default:
                        _ranks[rank].AllReduceMean(_tensors[rank]);
                        break;
                }
            });

        public void Dispose()
        {
            foreach (var rank in _ranks)
                rank.Dispose();
            foreach (var listener in _listeners)
                listener.Dispose();
            foreach (var tensor in _tensors.SelectMany(t => t).Concat(_gradients))
                tensor.Dispose();
        }

        /// <summary>As many floats as <c>elements</c>, shaped like a model's gradients: some large matrices, many small biases.</summary>
        private static Tensor[] GradientLike(int elements)
        {
            int[] pattern = [1 << 20, 1 << 18, 4096, 512, 1 << 16, 64];
            var tensors = new List<Tensor>();
            for (int left = elements, i = 0; left > 0; i++)
            {
                var size = Math.Min(left, pattern[i % pattern.Length]);
                tensors.Add(full(size, 1e-3f));
                left -= size;
            }
            return tensors.ToArray();
        }
    }


    private static Options Parse(string[] args)
    {
        string Value(string name, string fallback) => BenchArguments.Value(args, name, fallback);
        return new Options(
            Value("--ranks", "2,4").Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToArray(),
            double.Parse(Value("--megabytes", "25"), CultureInfo.InvariantCulture),
            int.Parse(Value("--iterations", "10"), CultureInfo.InvariantCulture),
            int.Parse(Value("--warmup", "2"), CultureInfo.InvariantCulture),
            int.Parse(Value("--socket-buffer", "0"), CultureInfo.InvariantCulture),
            int.Parse(Value("--bucket", RingOptions.Default.BucketBytes.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture));
    }
}
