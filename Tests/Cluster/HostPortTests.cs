using TrainManager.Protocol.Configuration;

namespace TrainManager.Tests.Cluster;

public sealed class HostPortTests
{
    [Theory]
    [InlineData("127.0.0.1:4053", "127.0.0.1", 4053)]
    [InlineData(" node-1.example:1 ", "node-1.example", 1)]
    [InlineData("[::1]:4053", "::1", 4053)]
    [InlineData("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535)]
    public void Reads_a_name_an_IPv4_address_or_a_bracketed_IPv6_address_with_its_port(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, out var address, out var problem), problem);
        Assert.Equal(new HostPort(host, port), address);
    }

    [Theory]
    [InlineData("[::1", "its '[' is never closed")]
    [InlineData("[::1]", "needs its port after them")]
    [InlineData("[10.0.0.1]:4053", "brackets are for IPv6 addresses only")]
    [InlineData("::1:4053", "an IPv6 address needs brackets")]
    [InlineData("localhost", "it has no port")]
    [InlineData(":4053", "it has no host")]
    [InlineData("host:0", "'0' is not a port")]
    [InlineData("host:-1", "'-1' is not a port")]
    public void Refuses_what_is_not_host_and_port_saying_why(string text, string problem)
    {
        Assert.False(HostPort.TryParse(text, out _, out var why));
        Assert.Contains(problem, why);
    }

    [Fact]
    public void Writes_an_IPv6_host_back_in_brackets()
    {
        Assert.Equal("[::1]:4053", new HostPort("::1", 4053).ToString());
        Assert.Equal("10.0.0.1:4053", new HostPort("10.0.0.1", 4053).ToString());
    }
}
