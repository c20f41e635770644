using Ccflare.Storage.Testing;

namespace Ccflare.Storage.Tests;

/// <summary>The contract against the in-memory store (nothing to reopen).</summary>
public sealed class InMemoryStoreTests : StoreContractTests
{
    protected override ICcflareStore CreateStore(string directory) => new InMemoryStore();
}
