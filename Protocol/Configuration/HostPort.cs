using System.Globalization;

namespace TrainManager.Protocol.Configuration;

/// <summary>
/// A <c>HOST:PORT</c> as people write it: a name or IPv4 address (<c>10.0.0.1:4053</c>), or an IPv6 address in brackets
/// (<c>[::1]:4053</c>). The one parser for seed nodes, <c>--cluster</c> and data endpoints.
/// </summary>
public readonly record struct HostPort(string Host, int Port)
{
    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="problem"/> says what is wrong with it.</summary>
    public static bool TryParse(string text, out HostPort value, out string problem)
    {
        value = default;
        var s = text.Trim();
        string host, port;
        if (s.StartsWith('['))
        {
            var close = s.IndexOf(']');
            if (close < 0)
                return Fail("its '[' is never closed", out problem);
            if (close + 1 >= s.Length || s[close + 1] != ':')
                return Fail("an IPv6 address in brackets needs its port after them, as [::1]:4053", out problem);
            host = s[1..close];
            port = s[(close + 2)..];
            if (!host.Contains(':'))
                return Fail("brackets are for IPv6 addresses only", out problem);
        }
        else
        {
            var colon = s.IndexOf(':');
            if (colon < 0)
                return Fail("it has no port", out problem);
            if (s.IndexOf(':', colon + 1) >= 0)
                return Fail("an IPv6 address needs brackets, as [::1]:4053", out problem);
            host = s[..colon];
            port = s[(colon + 1)..];
        }
        if (host.Length == 0)
            return Fail("it has no host", out problem);
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
            return Fail($"'{port}' is not a port (1 to 65535)", out problem);
        value = new HostPort(host, number);
        problem = "";
        return true;
    }

    /// <summary>As people write it back: brackets around an IPv6 host.</summary>
    public override string ToString() => Format(Host, Port);

    public static string Format(string host, int port) =>
        host.Contains(':') && !host.StartsWith('[') ? $"[{host}]:{port.ToString(CultureInfo.InvariantCulture)}" : $"{host}:{port.ToString(CultureInfo.InvariantCulture)}";

    static bool Fail(string why, out string problem)
    {
        problem = why;
        return false;
    }
}
