namespace Ccflare;

/// <summary>
/// How Ccflare finds a store's optional capabilities (<see cref="ICcflareRequestAggregates"/>,
/// <see cref="ICcflareStoreChangeFeed"/>, <see cref="ICcflareStoreLocks"/>, <see cref="ICcflareAccountStateUpdates"/>):
/// the registered store implements the interface, or the capability is absent.
/// </summary>
internal static class StoreCapabilities
{
    public static T? Capability<T>(this ICcflareStore store) where T : class => store as T;
}
