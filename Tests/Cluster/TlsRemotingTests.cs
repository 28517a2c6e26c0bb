using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrainManager.Protocol.Configuration;
using TrainManager.Protocol;
using TrainManager.Protocol.Security;

namespace TrainManager.Tests.Cluster;

/// <summary>Remoting over TLS, as documented in cluster.hocon: members with certificates of the cluster CA form a cluster and
/// talk; a certificate of any other CA is refused, and so is switching validation off.</summary>
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

    /// <summary>The settings of a member with TLS on, a certificate and the CA it trusts.</summary>
    static string Tls(string certificate, string authority, string password = "") => $$"""
        trainmanager.security.tls = on
        trainmanager.security.ca-certificate = "{{authority}}"
        akka.remote.dot-netty.tcp.ssl.certificate { path = "{{certificate}}", password = "{{password}}" }
        """;

    [Fact]
    public void Members_with_certificates_of_the_cluster_ca_form_a_cluster_and_exchange_protocol_messages_over_tls()
    {
        var ca = Path.Combine(_nodes.Root, "ca");
        ClusterTls.CreateAuthority(ca);
        var authority = Path.Combine(ca, ClusterTls.AuthorityCertificateFile);
        var first = Path.Combine(_nodes.Root, "coordinator.pfx");
        var second = Path.Combine(_nodes.Root, "worker.pfx");
        ClusterTls.Issue(ca, first, "127.0.0.1", ["127.0.0.1", "localhost"]);
        ClusterTls.Issue(ca, second, "127.0.0.1", ["127.0.0.1"], password: "s3cret");

        var (coordinator, _) = _nodes.Start([NodeRoles.Coordinator], extraHocon: Tls(first, authority));
        var (worker, workerRoles) = _nodes.Start([NodeRoles.Worker], join: coordinator, extraHocon: Tls(second, authority, "s3cret"));

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

    [Fact]
    public void A_member_whose_certificate_another_ca_issued_is_refused_even_with_the_cluster_secret()
    {
        var ca = Path.Combine(_nodes.Root, "ca");
        ClusterTls.CreateAuthority(ca);
        var certificate = Path.Combine(_nodes.Root, "coordinator.pfx");
        ClusterTls.Issue(ca, certificate, "127.0.0.1", ["127.0.0.1"]);
        var (coordinator, _) = _nodes.Start([NodeRoles.Coordinator], extraHocon: Tls(certificate, Path.Combine(ca, ClusterTls.AuthorityCertificateFile)));
        var warnings = CreateTestProbe(coordinator);
        coordinator.EventStream.Subscribe(warnings.Ref, typeof(Akka.Event.Warning));

        // Its own CA, its own certificate: TLS works for it, but not with this cluster (the secret is this cluster's).
        var otherCa = Path.Combine(_nodes.Root, "other-ca");
        ClusterTls.CreateAuthority(otherCa, "Somebody else's CA");
        var otherCertificate = Path.Combine(_nodes.Root, "intruder.pfx");
        ClusterTls.Issue(otherCa, otherCertificate, "127.0.0.1", ["127.0.0.1"]);
        var (intruder, _) = _nodes.Start([NodeRoles.Worker], join: coordinator,
            extraHocon: Tls(otherCertificate, Path.Combine(otherCa, ClusterTls.AuthorityCertificateFile)));

        warnings.FishForMessage<Akka.Event.Warning>(w => $"{w.Message}".Contains("was not issued by this cluster's CA", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20));
        Assert.Equal(1, ClusterNodes.UpMembers(coordinator));
        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(coordinator).State.Members, m => m.Address == Akka.Cluster.Cluster.Get(intruder).SelfAddress);
    }

    [Fact]
    public void Suppressed_certificate_validation_and_a_self_signed_certificate_are_refused_at_start_with_what_to_do()
    {
        var ca = Path.Combine(_nodes.Root, "ca");
        ClusterTls.CreateAuthority(ca);
        var authority = Path.Combine(ca, ClusterTls.AuthorityCertificateFile);
        var selfSigned = SelfSignedCertificate(_nodes.Root, "s3cret");

        var suppressed = Assert.Throws<ClusterConfigurationException>(() => _nodes.Start([NodeRoles.Coordinator],
            extraHocon: Tls(selfSigned, authority, "s3cret") + "\nakka.remote.dot-netty.tcp.ssl.suppress-validation = true"));
        Assert.Contains("suppress-validation is on: any certificate at all would be accepted", suppressed.Message);

        var foreign = Assert.Throws<ClusterConfigurationException>(() => _nodes.Start([NodeRoles.Coordinator], extraHocon: Tls(selfSigned, authority, "s3cret")));
        Assert.Contains("was not issued by the cluster CA", foreign.Message);

        var missing = Assert.Throws<ClusterConfigurationException>(() => _nodes.Start([NodeRoles.Coordinator],
            extraHocon: "trainmanager.security.tls = on"));
        Assert.Contains("trainmanager tls ca DIR", missing.Message);
    }

    protected override void Dispose(bool disposing)
    {
        _nodes.Dispose();
        base.Dispose(disposing);
    }
}
