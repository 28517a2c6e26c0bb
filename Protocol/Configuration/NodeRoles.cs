namespace TrainManager.Protocol.Configuration;

/// <summary>The cluster roles: what a member does. A node may have both server roles; the CLI joins as <see cref="Cli"/>.</summary>
public static class NodeRoles
{
    /// <summary>Hosts the experiment registry singleton and needs the journal.</summary>
    public const string Coordinator = "coordinator";

    /// <summary>Offers worker slots (one per device) and trains.</summary>
    public const string Worker = "worker";

    /// <summary>A short-lived member: the <c>trainmanager</c> CLI while it submits, lists or follows.</summary>
    public const string Cli = "cli";

    public static readonly IReadOnlyList<string> ServerRoles = [Coordinator, Worker];
}
