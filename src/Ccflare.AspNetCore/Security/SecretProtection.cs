using System.Security.Cryptography;
using Ccflare.Diagnostics;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.Infrastructure;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Security;

/// <summary>
/// Encrypts and decrypts secrets stored by Ccflare with ASP.NET Core Data Protection
/// (purpose <c>Ccflare.Secrets.v1</c>). Ciphertext carries the <c>enc:v1:</c> prefix, so
/// plaintext values written by older versions still load and are encrypted on their next write.
/// </summary>
internal sealed class SecretProtector
{
    public const string Purpose = "Ccflare.Secrets.v1";
    public const string Prefix = "enc:v1:";

    // Created on first use: Data Protection's options read CcflareOptions, whose validator reaches the
    // account registry and through it this type, so resolving the provider eagerly would be a cycle.
    private readonly Lazy<IDataProtector> _lazyProtector;

    public SecretProtector(IServiceProvider services)
    {
        _lazyProtector = new Lazy<IDataProtector>(() => services.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose));
    }

    private IDataProtector Protector => _lazyProtector.Value;

    public static bool IsProtected(string? value) => value is not null && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Encrypts <paramref name="value"/>; null, empty and already encrypted values are returned as is.</summary>
    public string? Protect(string? value) =>
        string.IsNullOrEmpty(value) || IsProtected(value) ? value : Prefix + Protector.Protect(value);

    /// <summary>
    /// Decrypts a value written by <see cref="Protect"/>; plaintext (no prefix) is returned as is.
    /// Returns false, leaving the ciphertext in <paramref name="plain"/>, when the key ring cannot decrypt it.
    /// </summary>
    public bool TryUnprotect(string? value, out string? plain)
    {
        if (!IsProtected(value))
        {
            plain = value;
            return true;
        }
        try
        {
            plain = Protector.Unprotect(value![Prefix.Length..]);
            return true;
        }
        catch (CryptographicException)
        {
            plain = value;
            return false;
        }
    }
}

/// <summary>
/// The store as Ccflare's account code sees it: a decorator over the registered
/// <see cref="ICcflareStore"/> that encrypts <see cref="Account.ApiKey"/>,
/// <see cref="Account.AccessToken"/>, <see cref="Account.RefreshToken"/> and
/// <see cref="AuthSession.StateJson"/> on the way in and decrypts them on the way out.
/// Everything else passes through unchanged.
/// </summary>
/// <remarks>
/// Storage packages replace the <see cref="ICcflareStore"/> registration (<c>UseSqliteStorage</c>,
/// <c>UseStorage&lt;T&gt;</c>, ...), so this type is registered separately and wraps whichever store
/// is registered when it is first resolved; code that reads or writes accounts or sign-in sessions
/// depends on it rather than on <see cref="ICcflareStore"/>. When the key ring cannot decrypt a stored
/// secret (keys lost or not shared), the account keeps the ciphertext in memory (so a later write
/// does not destroy it) and is marked <c>tokenStatus: "decrypt_failed"</c>, which keeps it out of rotation.
/// </remarks>
internal sealed class SecretProtectingStore(ICcflareStore inner, SecretProtector protector, ILogger<SecretProtectingStore> logger) : ICcflareStore
{
    public const string DecryptFailedStatus = "decrypt_failed";

    public ICcflareStore Inner => inner;

    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public async Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken)
    {
        var stored = await inner.GetAccountsAsync(cancellationToken).ConfigureAwait(false);
        var result = new Account[stored.Count];
        for (var i = 0; i < stored.Count; i++)
        {
            result[i] = Decrypt(stored[i]);
        }
        return result;
    }

    public Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken) =>
        inner.AddAccountAsync(Encrypt(account), cancellationToken);

    public Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken) =>
        inner.UpdateAccountAsync(Encrypt(account), cancellationToken);

    public Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken) => inner.DeleteAccountAsync(id, cancellationToken);

    public Task WriteRequestsAsync(IReadOnlyList<RequestRecord> records, CancellationToken cancellationToken) => inner.WriteRequestsAsync(records, cancellationToken);

    public Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken) =>
        inner.GetRecentRequestsAsync(limit, includePayloads, cancellationToken);

    public Task<RequestRecord?> GetRequestAsync(string id, CancellationToken cancellationToken) => inner.GetRequestAsync(id, cancellationToken);

    public IAsyncEnumerable<RequestRecord> QueryRequestsAsync(RequestQuery query, CancellationToken cancellationToken) => inner.QueryRequestsAsync(query, cancellationToken);

    public Task<long> DeleteRequestsAsync(DateTimeOffset? olderThan, CancellationToken cancellationToken) => inner.DeleteRequestsAsync(olderThan, cancellationToken);

    public Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) => inner.DeletePayloadsAsync(olderThan, cancellationToken);

    public Task CompactAsync(CancellationToken cancellationToken) => inner.CompactAsync(cancellationToken);

    public Task<IReadOnlyDictionary<string, string>> GetSettingsAsync(CancellationToken cancellationToken) => inner.GetSettingsAsync(cancellationToken);

    public Task SetSettingAsync(string key, string value, CancellationToken cancellationToken) => inner.SetSettingAsync(key, value, cancellationToken);

    public Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken) =>
        inner.SaveAuthSessionAsync(session with { StateJson = protector.Protect(session.StateJson)! }, cancellationToken);

    public async Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken)
    {
        var session = await inner.GetAuthSessionAsync(id, cancellationToken).ConfigureAwait(false);
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

    public Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken) => inner.DeleteAuthSessionAsync(id, cancellationToken);

    public Task<int> DeleteExpiredAuthSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.DeleteExpiredAuthSessionsAsync(now, cancellationToken);

    public Task<IReadOnlyList<AccessKeyUser>> GetUsersAsync(CancellationToken cancellationToken) => inner.GetUsersAsync(cancellationToken);

    public Task<bool> AddUserAsync(AccessKeyUser user, CancellationToken cancellationToken) => inner.AddUserAsync(user, cancellationToken);

    public Task<bool> DeleteUserAsync(string id, CancellationToken cancellationToken) => inner.DeleteUserAsync(id, cancellationToken);

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

/// <summary>Points Data Protection at <see cref="CcflareOptions.DataProtectionKeysPath"/> unless the host chose a key repository.</summary>
internal sealed class CcflareKeyManagementSetup(IOptions<CcflareOptions> options, ILoggerFactory loggerFactory) : IConfigureOptions<KeyManagementOptions>
{
    public void Configure(KeyManagementOptions keyOptions)
    {
        if (keyOptions.XmlRepository is null && options.Value.DataProtectionKeysPath is { Length: > 0 } path)
        {
            PrivateFiles.EnsureDirectory(path);
            keyOptions.XmlRepository = new OwnerOnlyXmlRepository(new FileSystemXmlRepository(new DirectoryInfo(path), loggerFactory), path);
        }
    }
}

/// <summary>Ccflare's key directory: the framework's file repository, with every key file narrowed to 0600 once written.</summary>
internal sealed class OwnerOnlyXmlRepository(FileSystemXmlRepository inner, string directory) : IXmlRepository
{
    public IReadOnlyCollection<System.Xml.Linq.XElement> GetAllElements() => inner.GetAllElements();

    public void StoreElement(System.Xml.Linq.XElement element, string friendlyName)
    {
        inner.StoreElement(element, friendlyName);
        foreach (var file in Directory.EnumerateFiles(directory, "*.xml"))
        {
            PrivateFiles.EnsureFile(file);
        }
    }
}

/// <summary>
/// With Ccflare's own key directory, fixes the application name so that every process using that
/// directory (the server and the CLI) can decrypt each other's secrets.
/// </summary>
internal sealed class CcflareDataProtectionSetup(IOptions<CcflareOptions> options, IServiceProvider services) : IConfigureOptions<DataProtectionOptions>
{
    public const string ApplicationName = "Ccflare";

    public void Configure(DataProtectionOptions dataProtection)
    {
        // Replace only the host's default (its content root), never a name the host set itself.
        var current = dataProtection.ApplicationDiscriminator;
        if (options.Value.DataProtectionKeysPath is { Length: > 0 }
            && (current is null || current == services.GetApplicationUniqueIdentifier()))
        {
            dataProtection.ApplicationDiscriminator = ApplicationName;
        }
    }
}
