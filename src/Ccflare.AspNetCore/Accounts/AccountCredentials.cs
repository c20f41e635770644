using Ccflare.Providers;

namespace Ccflare.Accounts;

/// <summary>Supplies the secret used for an account's upstream call (refreshing OAuth tokens when needed).</summary>
internal interface IAccountCredentials
{
    /// <summary>The API key or access token to send, or null when the account has none usable.</summary>
    ValueTask<string?> GetSecretAsync(AccountState account, CancellationToken cancellationToken);
}

/// <summary>Returns the stored API key or access token as is (no refresh; <c>RefreshingAccountCredentials</c> is registered by default).</summary>
internal sealed class StoredAccountCredentials : IAccountCredentials
{
    public ValueTask<string?> GetSecretAsync(AccountState account, CancellationToken cancellationToken)
    {
        var snapshot = account.Snapshot;
        return ValueTask.FromResult(snapshot.AuthMethod == AccountAuthMethods.OAuth ? snapshot.AccessToken : snapshot.ApiKey);
    }
}

internal static class CredentialInjection
{
    /// <summary>Adds the account's credential in the header its provider expects.</summary>
    public static void Apply(HttpRequestMessage request, ProviderDescriptor provider, Account account, string secret)
    {
        if (provider.Family == ProviderFamily.Anthropic && account.AuthMethod == AccountAuthMethods.ApiKey)
        {
            request.Headers.TryAddWithoutValidation("x-api-key", secret);
        }
        else
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + secret);
        }
    }
}
