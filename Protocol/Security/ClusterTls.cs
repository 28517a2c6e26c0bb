using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;
using TrainManager.Protocol.Configuration;

namespace TrainManager.Protocol.Security;

/// <summary>
/// TLS between members, checked against the cluster's own certificate authority: a member presents a certificate the
/// cluster CA issued (<c>akka.remote.dot-netty.tcp.ssl.certificate</c>) and accepts a peer only if the peer's certificate
/// chains to that CA (<c>trainmanager.security.ca-certificate</c>), in both directions (mutual TLS). The system's trust
/// store plays no part, so a certificate from any other CA, or self-signed, is refused. Host names are not checked: nodes
/// are reached by IP as often as by name, and the CA only issues certificates to the cluster's own machines.
/// </summary>
public static class ClusterTls
{
    /// <summary>Files a <c>trainmanager tls ca DIR</c> folder holds.</summary>
    public const string AuthorityCertificateFile = "ca.crt";
    public const string AuthorityKeyFile = "ca.key";

    const string NeverOverwritten = "it is never overwritten. Remove it first if you mean to replace it.";

    /// <summary>The TLS setup of a member whose configuration turns TLS on; null when it is off.</summary>
    /// <exception cref="ClusterConfigurationException">A file is missing or unreadable, or validation is suppressed.</exception>
    public static DotNettySslSetup? SetupFor(Config config)
    {
        if (!config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl", false))
            return null;
        if (config.GetBoolean("akka.remote.dot-netty.tcp.ssl.suppress-validation", false))
            throw new ClusterConfigurationException(
                "akka.remote.dot-netty.tcp.ssl.suppress-validation is on: any certificate at all would be accepted. Turn it off and give the cluster's CA " +
                "certificate in trainmanager.security.ca-certificate (make a CA and certificates with: trainmanager tls ca DIR, trainmanager tls certificate).");
        var certificatePath = config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.path", "");
        var password = config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.password", "");
        var authorityPath = config.GetString("trainmanager.security.ca-certificate", "");
        if (certificatePath.Length == 0 || authorityPath.Length == 0)
            throw new ClusterConfigurationException(
                "TLS is on (a cluster on other machines uses it unless trainmanager.security.tls = off) but " +
                (certificatePath.Length == 0 ? "this member has no certificate (akka.remote.dot-netty.tcp.ssl.certificate.path, a .pfx)" : "the cluster CA is not given (trainmanager.security.ca-certificate)") +
                ". Make the cluster's CA once with `trainmanager tls ca DIR`, and a certificate for each node and client with `trainmanager tls certificate --ca DIR --host HOST FILE.pfx`.");
        var certificate = LoadPkcs12(certificatePath, password);
        var authority = LoadCertificate(authorityPath);
        if (!ChainsTo(certificate, authority))
            throw new ClusterConfigurationException(
                $"{Path.GetFullPath(certificatePath)} was not issued by the cluster CA {Path.GetFullPath(authorityPath)}; issue it with `trainmanager tls certificate --ca DIR ...` from that CA's folder.");
        return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true, validateCertificateHostname: false,
            customValidator: (peer, _, _, _, log) =>
            {
                if (peer is not null && ChainsTo(peer, authority))
                    return true;
                log?.Warning("Refused a TLS peer: its certificate ({0}) was not issued by this cluster's CA ({1}).",
                    peer?.Subject ?? "none", authority.Subject);
                return false;
            });
    }

    /// <summary>Whether <paramref name="certificate"/> chains to <paramref name="authority"/> alone, the system's trust store aside.</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 authority)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <summary>A new cluster CA in <paramref name="folder"/>: its certificate (public) and its key (mode 600, never copied).</summary>
    public static X509Certificate2 CreateAuthority(string folder, string name = "Train Manager cluster CA")
    {
        Directory.CreateDirectory(folder);
        var certificatePath = Path.Combine(folder, AuthorityCertificateFile);
        var keyPath = Path.Combine(folder, AuthorityKeyFile);
        if (File.Exists(certificatePath) || File.Exists(keyPath))
            throw new ClusterConfigurationException($"{folder} already holds a CA; a CA is never overwritten (its certificates would stop working). Use another folder.");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(10));
        PrivateFile.CreateNew(keyPath, System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()), NeverOverwritten);
        File.WriteAllText(certificatePath, authority.ExportCertificatePem());
        return X509CertificateLoader.LoadCertificateFromFile(certificatePath);
    }

    /// <summary>A certificate for one node or client, issued by the CA in <paramref name="authorityFolder"/>, as a .pfx (mode 600).</summary>
    /// <param name="hosts">Names and addresses it is reached at (recorded in the certificate, for people and other tools).</param>
    public static X509Certificate2 Issue(string authorityFolder, string output, string name, IReadOnlyList<string> hosts, string password = "")
    {
        var authorityCertificate = LoadCertificate(Path.Combine(authorityFolder, AuthorityCertificateFile));
        var keyPath = Path.Combine(authorityFolder, AuthorityKeyFile);
        if (!File.Exists(keyPath))
            throw new ClusterConfigurationException($"{authorityFolder} has no CA key ({AuthorityKeyFile}); issue certificates where the CA was made (trainmanager tls ca DIR).");
        using var authorityKey = ECDsa.Create();
        authorityKey.ImportFromPem(File.ReadAllText(keyPath));
        using var authority = authorityCertificate.CopyWithPrivateKey(authorityKey);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client: TLS here is mutual
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts.Append(name).Distinct())
        {
            if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
                names.AddIpAddress(address);
            else
                names.AddDnsName(host);
        }
        request.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(authority, DateTimeOffset.UtcNow.AddMinutes(-5), authorityCertificate.NotAfter.AddDays(-1), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        var bytes = withKey.Export(X509ContentType.Pfx, password);
        PrivateFile.CreateNew(output, bytes, NeverOverwritten);
        return LoadPkcs12(output, password);
    }

    static X509Certificate2 LoadPkcs12(string path, string password)
    {
        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ClusterConfigurationException(
                $"cannot read the TLS certificate {Path.GetFullPath(path)}: {e.Message} (a .pfx with its private key; its password in TRAINMANAGER_TLS_PASSWORD).", e);
        }
    }

    static X509Certificate2 LoadCertificate(string path)
    {
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ClusterConfigurationException($"cannot read the cluster CA certificate {Path.GetFullPath(path)}: {e.Message}", e);
        }
    }
}
