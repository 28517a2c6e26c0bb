using System.Globalization;
using System.Net;
using System.Net.Sockets;
using TrainManager.Protocol.Configuration;

namespace TrainManager.Node.Workers;

/// <summary>A data endpoint that cannot be used: the message names it and what to set.</summary>
public sealed class DataEndpointException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The <c>host:port</c> text of a slot's data endpoint (where the ranks of a data-parallel run connect), as the slot
/// advertises it and its peers dial it. A host name is resolved when the ring is formed, so a node may advertise
/// a name its peers resolve to another address than it does itself.
/// </summary>
public static class DataEndpoints
{
    public static string Format(string host, int port) => HostPort.Format(host, port);

    /// <summary>Parses and resolves the endpoint of rank <paramref name="rank"/> (IPv4 preferred for a name).</summary>
    /// <exception cref="DataEndpointException">Not <c>host:port</c>, or the host does not resolve.</exception>
    public static IPEndPoint Resolve(string endpoint, int rank)
    {
        if (!HostPort.TryParse(endpoint, out var address, out var problem))
            throw new DataEndpointException(
                $"rank {rank}'s data endpoint '{endpoint}' is not host:port ({problem}); its node must advertise one (trainmanager.node.data-host and data-port in cluster.hocon).");
        var (host, port) = (address.Host, address.Port);
        try
        {
            return new IPEndPoint(Address(host), port);
        }
        catch (SocketException e)
        {
            throw new DataEndpointException(
                $"rank {rank}'s data host '{host}' does not resolve from this node ({e.Message}); set trainmanager.node.data-host on that node to an address the others reach.", e);
        }
    }

    /// <summary>An IP address as given, or a name resolved (IPv4 preferred): how a slot binds its endpoint and how its
    /// peers dial it.</summary>
    /// <exception cref="SocketException">The name does not resolve, or resolves to no address.</exception>
    public static IPAddress Address(string host)
    {
        if (IPAddress.TryParse(host, out var address))
            return address;
        var addresses = Dns.GetHostAddresses(host);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
    }
}
