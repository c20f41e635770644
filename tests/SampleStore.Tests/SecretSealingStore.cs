using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Ccflare;

namespace SampleStore;

/// <summary>
/// A store that keeps account secrets (API key, OAuth tokens) encrypted with AES-GCM in any other
/// <see cref="ICcflareStore"/>, and decrypts them on the way out: the rest of Ccflare sees plain accounts.
/// </summary>
public sealed class SecretSealingStore(ICcflareStore inner, byte[] key) : ICcflareStore, IAsyncDisposable
{
    private const string SealedPrefix = "sealed:v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly AesGcm _aes = new(key, TagSize);

    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken) => inner.AddAccountAsync(Seal(account), cancellationToken);

    public Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken) => inner.UpdateAccountAsync(Seal(account), cancellationToken);

    public Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken) => inner.DeleteAccountAsync(id, cancellationToken);

    public async Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken) =>
        [.. (await inner.GetAccountsAsync(cancellationToken)).Select(Unseal)];

    public Task WriteRequestsAsync(IReadOnlyList<RequestRecord> records, CancellationToken cancellationToken) => inner.WriteRequestsAsync(records, cancellationToken);

    public Task<RequestRecord?> GetRequestAsync(string id, CancellationToken cancellationToken) => inner.GetRequestAsync(id, cancellationToken);

    public Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken) =>
        inner.GetRecentRequestsAsync(limit, includePayloads, cancellationToken);

    public async IAsyncEnumerable<RequestRecord> QueryRequestsAsync(RequestQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var record in inner.QueryRequestsAsync(query, cancellationToken))
        {
            yield return record;
        }
    }

    public Task<long> DeleteRequestsAsync(DateTimeOffset? olderThan, CancellationToken cancellationToken) => inner.DeleteRequestsAsync(olderThan, cancellationToken);

    public Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) => inner.DeletePayloadsAsync(olderThan, cancellationToken);

    public Task CompactAsync(CancellationToken cancellationToken) => inner.CompactAsync(cancellationToken);

    public Task<IReadOnlyDictionary<string, string>> GetSettingsAsync(CancellationToken cancellationToken) => inner.GetSettingsAsync(cancellationToken);

    public Task SetSettingAsync(string key, string value, CancellationToken cancellationToken) => inner.SetSettingAsync(key, value, cancellationToken);

    public Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken) => inner.SaveAuthSessionAsync(session, cancellationToken);

    public Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken) => inner.GetAuthSessionAsync(id, cancellationToken);

    public Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken) => inner.DeleteAuthSessionAsync(id, cancellationToken);

    public Task<int> DeleteExpiredAuthSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.DeleteExpiredAuthSessionsAsync(now, cancellationToken);

    public Task<bool> AddUserAsync(AccessKeyUser user, CancellationToken cancellationToken) => inner.AddUserAsync(user, cancellationToken);

    public Task<IReadOnlyList<AccessKeyUser>> GetUsersAsync(CancellationToken cancellationToken) => inner.GetUsersAsync(cancellationToken);

    public Task<bool> DeleteUserAsync(string id, CancellationToken cancellationToken) => inner.DeleteUserAsync(id, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _aes.Dispose();
        switch (inner)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    private Account Seal(Account account) => account with
    {
        ApiKey = Seal(account.ApiKey),
        RefreshToken = Seal(account.RefreshToken),
        AccessToken = Seal(account.AccessToken),
    };

    private Account Unseal(Account account) => account with
    {
        ApiKey = Unseal(account.ApiKey),
        RefreshToken = Unseal(account.RefreshToken),
        AccessToken = Unseal(account.AccessToken),
    };

    private string? Seal(string? secret)
    {
        if (secret is null)
        {
            return null;
        }
        var plain = Encoding.UTF8.GetBytes(secret);
        var sealedBytes = new byte[NonceSize + TagSize + plain.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize));
        return SealedPrefix + Convert.ToBase64String(sealedBytes);
    }

    private string? Unseal(string? stored)
    {
        if (stored is null)
        {
            return null;
        }
        if (!stored.StartsWith(SealedPrefix, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("An account secret in the store is not sealed.");
        }
        var sealedBytes = Convert.FromBase64String(stored[SealedPrefix.Length..]);
        var plain = new byte[sealedBytes.Length - NonceSize - TagSize];
        _aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), plain);
        return Encoding.UTF8.GetString(plain);
    }
}
