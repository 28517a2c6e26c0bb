using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrainManager.Coordinator.Cluster;
using TrainManager.Coordinator.Cluster.Protocol;

namespace TrainManager.Tests.Cluster;

/// <summary>Remoting over TLS, as documented in cluster.hocon: members with a certificate form a cluster and talk.</summary>
public sealed class TlsRemotingTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    readonly ClusterNodes _nodes = new();

    /// <summary>A self-signed certificate with its private key, as a password-protected PKCS#12 file.</summary>
    static string SelfSignedCertificate(string folder, string password)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=trainmanager-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false)); // server and client: TLS is mutual
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(folder, "node.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return path;
    }

    [Fact]
    public void Members_with_tls_enabled_form_a_cluster_and_exchange_protocol_messages()
    {
        var certificate = SelfSignedCertificate(_nodes.Root, "s3cret");
        var tls = $$"""
            akka.remote.dot-netty.tcp {
              enable-ssl = true
              ssl {
                suppress-validation = true   # self-signed: nothing to validate it against
                certificate { path = "{{certificate}}", password = "s3cret" }
              }
            }
            """;
        var (coordinator, _) = _nodes.Start([NodeRoles.Coordinator], extraHocon: tls);
        var (worker, workerRoles) = _nodes.Start([NodeRoles.Worker], join: coordinator, extraHocon: tls);

        AwaitAssert(() => Assert.Equal(2, ClusterNodes.UpMembers(coordinator)), TimeSpan.FromSeconds(30));
        Assert.Equal("akka.ssl.tcp", Akka.Cluster.Cluster.Get(worker).SelfAddress.Protocol); // the TLS transport
        var client = CreateTestProbe(worker);
        AwaitAssert(() =>
        {
            // The worker's slot registered over TLS, and the answer came back over TLS.
            client.Send(workerRoles.Coordinator, ListRuns.Instance);
            Assert.Equal(1, client.ExpectMsg<RunList>(TimeSpan.FromSeconds(5)).TotalSlots);
        }, TimeSpan.FromSeconds(30));
    }

    protected override void Dispose(bool disposing)
    {
        _nodes.Dispose();
        base.Dispose(disposing);
    }
}
