using System.Net;
using System.Net.Sockets;

namespace TrainManager.Node.GradientExchange.Ring;

/// <summary>
/// The socket on which a rank accepts its predecessor. Started before the ring is formed so that its bound
/// <see cref="EndPoint"/> (port 0 picks a free one) can be sent to the coordinator and from there to every rank.
/// The caller owns it: it outlives a failed ring, so a new ring can be formed on the same endpoint.
/// </summary>
public sealed class RingListener : IDisposable
{
    private RingListener(Socket socket) => Socket = socket;

    /// <summary>The bound address and port; bind to the address the other ranks dial, not a wildcard, if it is to be
    /// handed out as is.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)Socket.LocalEndPoint!;

    internal Socket Socket { get; }

    /// <param name="endPoint">Address and port to bind; port 0 lets the system choose.</param>
    /// <param name="options">Only <see cref="RingOptions.SocketBufferBytes"/> is used here.</param>
    public static RingListener Start(IPEndPoint endPoint, RingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        options ??= RingOptions.Default;
        options.Validate();
        // Buffer sizes are set before listen(): accepted sockets inherit them, and the TCP window scale is fixed at
        // connection setup, too late to change on the accepted socket.
        var socket = RingSockets.Create(endPoint.AddressFamily, options);
        try
        {
            socket.Bind(endPoint);
            // Connections wait here between rings; a deep queue keeps a few stray ones from crowding out a rank.
            socket.Listen(backlog: 128);
            return new RingListener(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => Socket.Dispose();
}

/// <summary>The socket settings every ring connection shares.</summary>
internal static class RingSockets
{
    public static Socket Create(AddressFamily family, RingOptions options)
    {
        var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        Tune(socket, options);
        return socket;
    }

    public static void Tune(Socket socket, RingOptions options)
    {
        // Steps exchange small messages too (headers, barrier tokens); Nagle would hold them back for an ACK.
        socket.NoDelay = true;
        if (options.SocketBufferBytes > 0)
        {
            socket.SendBufferSize = options.SocketBufferBytes;
            socket.ReceiveBufferSize = options.SocketBufferBytes;
        }
    }
}
