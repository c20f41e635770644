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
