using Ccflare.Diagnostics;
using Ccflare.Security;
using Microsoft.Extensions.Logging;

namespace Ccflare.Accounts;

/// <summary>
/// Account persistence: the only code that reads or writes accounts and sign-in sessions in the
/// registered <see cref="ICcflareStore"/>. It encrypts <see cref="Account.ApiKey"/>, <see cref="Account.AccessToken"/>,
/// <see cref="Account.RefreshToken"/> and <see cref="AuthSession.StateJson"/> on the way in and decrypts them on
/// the way out, so the store (whichever package provides it) only ever holds ciphertext, and there is a single
/// store registration: nothing else can read accounts through a second, unencrypted handle.
/// </summary>
/// <remarks>
/// When the key ring cannot decrypt a stored secret (keys lost or not shared), the account keeps the
/// ciphertext in memory (so a later write does not destroy it) and is marked <c>tokenStatus: "decrypt_failed"</c>,
/// which keeps it out of rotation.
/// </remarks>
internal sealed class AccountStore(ICcflareStore store, SecretProtector protector, ILogger<AccountStore> logger)
{
    public const string DecryptFailedStatus = "decrypt_failed";

    /// <summary>The store's partial-update capability, when it has one (stores shared by several instances).</summary>
    public bool CanUpdateStateOnly => store.Capability<ICcflareAccountStateUpdates>() is not null;

    public async Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken)
    {
        var stored = await store.GetAccountsAsync(cancellationToken).ConfigureAwait(false);
        var result = new Account[stored.Count];
        for (var i = 0; i < stored.Count; i++)
        {
            result[i] = Decrypt(stored[i]);
        }
        return result;
    }

    public Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken) =>
        store.AddAccountAsync(Encrypt(account), cancellationToken);

    public Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken) =>
        store.UpdateAccountAsync(Encrypt(account), cancellationToken);

    /// <summary>Writes only the proxy-owned fields (counters, session, rate limits); requires <see cref="CanUpdateStateOnly"/>.</summary>
    public Task UpdateAccountStateAsync(Account account, CancellationToken cancellationToken) =>
        store.Capability<ICcflareAccountStateUpdates>()!.UpdateAccountStateAsync(Encrypt(account), cancellationToken);

    public Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken) => store.DeleteAccountAsync(id, cancellationToken);

    public Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken) =>
        store.SaveAuthSessionAsync(session with { StateJson = protector.Protect(session.StateJson)! }, cancellationToken);

    public async Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken)
    {
        var session = await store.GetAuthSessionAsync(id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return null;
        }
        if (!protector.TryUnprotect(session.StateJson, out var state))
        {
            Log.SecretDecryptFailed(logger, "auth session " + session.Id);
            return null;
        }
        return session with { StateJson = state! };
    }

    public Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken) => store.DeleteAuthSessionAsync(id, cancellationToken);

    private Account Encrypt(Account account) => account with
    {
        ApiKey = protector.Protect(account.ApiKey),
        AccessToken = protector.Protect(account.AccessToken),
        RefreshToken = protector.Protect(account.RefreshToken),
    };

    private Account Decrypt(Account account)
    {
        var ok = protector.TryUnprotect(account.ApiKey, out var apiKey);
        ok &= protector.TryUnprotect(account.AccessToken, out var accessToken);
        ok &= protector.TryUnprotect(account.RefreshToken, out var refreshToken);
        if (!ok)
        {
            Log.SecretDecryptFailed(logger, "account " + account.Name);
            return account with
            {
                TokenStatus = DecryptFailedStatus,
                TokenStatusReason = "The stored credentials cannot be decrypted with the current Data Protection key ring.",
            };
        }
        var decrypted = account with { ApiKey = apiKey, AccessToken = accessToken, RefreshToken = refreshToken };
        return decrypted.TokenStatus == DecryptFailedStatus ? decrypted with { TokenStatus = null, TokenStatusReason = null } : decrypted;
    }
}
