using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ccflare.Storage.PostgreSql;

/// <summary>
/// Creates the first Data Protection key at start-up under an advisory lock, so replicas starting
/// together on an empty database agree on one key instead of each creating its own on its first
/// encryption (and then failing to read the other's secrets until their key rings refresh).
/// </summary>
internal sealed class PostgreSqlKeyRingInitializer(
    PostgreSqlStore store, IKeyManager keys, IOptions<PostgreSqlStorageOptions> options, TimeProvider time) : IHostedService
{
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromDays(90);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.StoreDataProtectionKeys)
        {
            return;
        }
        var held = await store.AcquireLockAsync("data-protection-first-key", cancellationToken).ConfigureAwait(false);
        await using (held.ConfigureAwait(false))
        {
            if (keys.GetAllKeys().Count == 0)
            {
                var now = time.GetUtcNow();
                keys.CreateNewKey(now, now + KeyLifetime);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
