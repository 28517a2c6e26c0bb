using Akka.Configuration;

namespace TrainManager.Protocol.Configuration;

/// <summary>
/// <c>trainmanager.bundles</c>: how long the coordinator keeps the bundles of users' training projects and how much room
/// they may take, and how much a node's cache of them may.
/// </summary>
/// <param name="KeepUnused">A bundle that no queued, placed or training run uses is removed once it has not been used
/// (uploaded, offered again, fetched by a node) for this long.</param>
/// <param name="MaxSize">The coordinator's bundles together stay under this: past it, unused bundles go first, least
/// recently used first; an upload that would not fit even then is refused.</param>
/// <param name="NodeCacheMaxSize">A node keeps the bundles it fetched up to this size, least recently used removed first
/// (never one a run on the node is using).</param>
/// <param name="CollectEvery">How often the coordinator applies the rule (also after every upload).</param>
public sealed record BundleStoreOptions(TimeSpan KeepUnused, long MaxSize, long NodeCacheMaxSize, TimeSpan CollectEvery)
{
    public static BundleStoreOptions Default { get; } = new(TimeSpan.FromDays(7), 20L << 30, 10L << 30, TimeSpan.FromHours(1));

    public static BundleStoreOptions From(Config section)
    {
        var keep = section.GetTimeSpan("bundles.keep-unused", Default.KeepUnused);
        var max = section.GetByteSize("bundles.max-size") ?? Default.MaxSize;
        var node = section.GetByteSize("bundles.node-cache-max-size") ?? Default.NodeCacheMaxSize;
        var every = section.GetTimeSpan("bundles.collect-every", Default.CollectEvery);
        if (keep < TimeSpan.Zero)
            throw new ClusterConfigurationException($"trainmanager.bundles.keep-unused is {keep}; it must be a duration of zero or more, e.g. 7 d.");
        if (max <= 0 || node <= 0)
            throw new ClusterConfigurationException("trainmanager.bundles.max-size and node-cache-max-size must be positive sizes, e.g. 20 GiB.");
        if (every <= TimeSpan.Zero)
            throw new ClusterConfigurationException($"trainmanager.bundles.collect-every is {every}; it must be positive, e.g. 1 h.");
        return new BundleStoreOptions(keep, max, node, every);
    }
}
