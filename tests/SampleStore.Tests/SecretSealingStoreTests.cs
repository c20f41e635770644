using System.Security.Cryptography;
using Ccflare;
using Ccflare.Storage.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using static Ccflare.Storage.Testing.StoreTestData;

namespace SampleStore;

/// <summary>
/// Ccflare's storage contract, run against a store written outside Ccflare: the sealing store over
/// Ccflare's in-memory store, which it reaches only through public registration.
/// </summary>
public sealed class SecretSealingStoreTests : StoreContractTests, IDisposable
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    private readonly List<ServiceProvider> _providers = [];
    private ICcflareStore? _inner;

    protected override ICcflareStore CreateStore(string directory)
    {
        var services = new ServiceCollection();
        // What every ASP.NET Core host provides; Ccflare's options read it.
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddCcflare().UseInMemoryStorage();
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        _inner = provider.GetRequiredService<ICcflareStore>();
        return new SecretSealingStore(_inner, Key);
    }

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    [Fact]
    public async Task Secrets_reach_the_inner_store_only_sealed()
    {
        var account = FullAccount();
        Assert.True(await Store.AddAccountAsync(account, Ct));

        var stored = Assert.Single(await _inner!.GetAccountsAsync(Ct));
        Assert.StartsWith("sealed:v1:", stored.ApiKey, StringComparison.Ordinal);
        Assert.DoesNotContain(account.ApiKey!, stored.ApiKey!, StringComparison.Ordinal);
        Assert.DoesNotContain(account.RefreshToken!, stored.RefreshToken!, StringComparison.Ordinal);
        Assert.DoesNotContain(account.AccessToken!, stored.AccessToken!, StringComparison.Ordinal);
        Assert.Equal(account with { ApiKey = null, RefreshToken = null, AccessToken = null },
            stored with { ApiKey = null, RefreshToken = null, AccessToken = null });
        Assert.Equal([account], await Store.GetAccountsAsync(Ct));
    }
}
