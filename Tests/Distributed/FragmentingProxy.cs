using System.Net;
using System.Net.Sockets;

namespace TrainManager.Tests.Distributed;

/// <summary>
/// Forwards one TCP connection to a target, passing the client's bytes on in small odd-sized pieces with a pause
/// between them, so that the receiver sees reads that split floats and messages at arbitrary bytes.
/// </summary>
internal sealed class FragmentingProxy : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];

    public FragmentingProxy(IPEndPoint target, int pieceBytes)
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1);
        _ = Task.Run(() => ForwardAsync(target, pieceBytes, _stop.Token));
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    private async Task ForwardAsync(IPEndPoint target, int pieceBytes, CancellationToken stop)
    {
        try
        {
            var client = await _listener.AcceptAsync(stop);
            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            lock (_sockets)
                _sockets.AddRange([client, server]);
            await server.ConnectAsync(target, stop);
            await Task.WhenAll(Pump(client, server, pieceBytes, stop), Pump(server, client, int.MaxValue, stop));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The test is over, or a ring end closed its connection.
        }
    }

    private static async Task Pump(Socket from, Socket to, int pieceBytes, CancellationToken stop)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var n = await from.ReceiveAsync(buffer, SocketFlags.None, stop);
            if (n == 0)
            {
                to.Shutdown(SocketShutdown.Send);
                return;
            }
            for (var offset = 0; offset < n; offset += pieceBytes)
            {
                await to.SendAsync(buffer.AsMemory(offset, Math.Min(pieceBytes, n - offset)), SocketFlags.None, stop);
                if (pieceBytes < n)
                    await Task.Delay(1, stop);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_sockets)
            foreach (var socket in _sockets)
                socket.Dispose();
    }
}
