using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Management;
using Ccflare.Providers;
using Ccflare.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.OAuth;

/// <summary>A started sign-in: the URL to open and the session to complete.</summary>
internal sealed record SignInStart(string SessionId, string AuthUrl, string Provider, DateTimeOffset ExpiresAt);

/// <summary>The outcome of a sign-in step: a status code and either an error message or the result.</summary>
internal sealed record SignInResult<T>(int StatusCode, string? Error, T? Value)
{
    public bool Succeeded => Error is null;

    public static SignInResult<T> Ok(T value) => new(StatusCodes.Status200OK, null, value);

    public static SignInResult<T> Fail(int statusCode, string error) => new(statusCode, error, default);
}

/// <summary>Status of a sign-in session as <c>GET /api/auth/session/{id}/status</c> reports it.</summary>
internal sealed record SignInStatus(string SessionId, string Provider, string AccountName, string Status, DateTimeOffset ExpiresAt, string? AccountId);

/// <summary>
/// OAuth sign-in with PKCE (S256): <see cref="StartAsync"/> creates a pending session (stored,
/// verifier encrypted) and the authorize URL; <see cref="CompleteAsync"/> checks the state,
/// exchanges the code and creates the account. A session completes once and expires
/// after <see cref="CcflareOptions.OAuthSessionTtlMs"/>.
/// </summary>
internal sealed class OAuthSignIn(
    OAuthProviders providers,
    ProviderRegistry known,
    OAuthTokenClient tokens,
    AccountStore store,
    AccountRegistry registry,
    AccountService accounts,
    IOptionsMonitor<CcflareOptions> options,
    TimeProvider time,
    ILogger<OAuthSignIn> logger)
{
    private readonly ConcurrentDictionary<string, byte> _completing = new(StringComparer.Ordinal);

    public async Task<SignInResult<SignInStart>> StartAsync(string provider, string? name, CancellationToken cancellationToken)
    {
        if (ProblemWithProvider(provider) is { } providerError)
        {
            return SignInResult<SignInStart>.Fail(StatusCodes.Status400BadRequest, providerError);
        }
        var settings = providers.Find(provider)!;
        if (AccountRules.ValidateName(name) is { } nameError)
        {
            return SignInResult<SignInStart>.Fail(StatusCodes.Status400BadRequest, nameError);
        }
        if (registry.FindByName(name!) is not null)
        {
            return SignInResult<SignInStart>.Fail(StatusCodes.Status409Conflict, $"An account named '{name}' already exists.");
        }

        var now = time.GetUtcNow();
        var state = new SessionState { Verifier = Pkce.CreateVerifier(), State = Pkce.RandomToken() };
        // The state doubles as the session id, so a browser callback (code + state) finds its session.
        var session = new AuthSession
        {
            Id = state.State,
            Provider = provider,
            AccountName = name!,
            StateJson = JsonSerializer.Serialize(state),
            CreatedAt = now,
            ExpiresAt = now.AddMilliseconds(Math.Max(1, options.CurrentValue.OAuthSessionTtlMs)),
        };
        await store.SaveAuthSessionAsync(session, cancellationToken).ConfigureAwait(false);
        Log.SignInStarted(logger, provider, session.AccountName, session.Id);
        var url = Pkce.BuildAuthorizeUrl(settings, Pkce.Challenge(state.Verifier), state.State);
        return SignInResult<SignInStart>.Ok(new SignInStart(session.Id, url, provider, session.ExpiresAt));
    }

    /// <summary>
    /// Completes a sign-in. <paramref name="code"/> may be <c>code#state</c> as pasted from the Claude
    /// page; <paramref name="callbackState"/> is the <c>state</c> query parameter of a browser callback.
    /// </summary>
    public async Task<SignInResult<Account>> CompleteAsync(string? provider, string? sessionId, string? code, string? callbackState, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(sessionId))
        {
            return SignInResult<Account>.Fail(StatusCodes.Status400BadRequest, "sessionId is required.");
        }
        if (string.IsNullOrWhiteSpace(code))
        {
            return SignInResult<Account>.Fail(StatusCodes.Status400BadRequest, "code is required.");
        }
        var session = await store.GetAuthSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (session is null || ReadState(session) is not { } state)
        {
            return SignInResult<Account>.Fail(StatusCodes.Status404NotFound, $"Sign-in session '{sessionId}' was not found; start a new sign-in.");
        }
        if (provider is not null && !string.Equals(provider, session.Provider, StringComparison.Ordinal))
        {
            return SignInResult<Account>.Fail(StatusCodes.Status400BadRequest, $"Sign-in session '{sessionId}' belongs to provider '{session.Provider}', not '{provider}'.");
        }
        if (state.CompletedAt is not null)
        {
            return SignInResult<Account>.Fail(StatusCodes.Status400BadRequest, $"Sign-in session '{sessionId}' was already completed; start a new sign-in.");
        }
        if (session.ExpiresAt <= time.GetUtcNow())
        {
            await store.DeleteAuthSessionAsync(session.Id, cancellationToken).ConfigureAwait(false);
            return SignInResult<Account>.Fail(StatusCodes.Status400BadRequest, $"Sign-in session '{sessionId}' has expired; start a new sign-in.");
        }

        var trimmed = code.Trim();
        var hash = trimmed.IndexOf('#', StringComparison.Ordinal);
        var authorizationCode = hash >= 0 ? trimmed[..hash] : trimmed;
        var returnedState = hash >= 0 ? trimmed[(hash + 1)..] : callbackState;
        if (authorizationCode.Length == 0)
        {
            return SignInResult<Account>.Fail(StatusCodes.Status400BadRequest, "code is empty.");
        }
        if (!string.IsNullOrEmpty(returnedState) && !FixedTimeEquals(returnedState, state.State))
        {
            return SignInResult<Account>.Fail(StatusCodes.Status400BadRequest, "The state returned with the code does not match this sign-in session.");
        }
        if (registry.FindByName(session.AccountName) is not null)
        {
            return SignInResult<Account>.Fail(StatusCodes.Status409Conflict, $"An account named '{session.AccountName}' already exists.");
        }
        if (providers.Find(session.Provider) is not { } settings)
        {
            return SignInResult<Account>.Fail(StatusCodes.Status400BadRequest, $"Provider '{session.Provider}' does not sign in with OAuth.");
        }
        if (!_completing.TryAdd(session.Id, 0))
        {
            return SignInResult<Account>.Fail(StatusCodes.Status409Conflict, $"Sign-in session '{sessionId}' is already being completed.");
        }
        try
        {
            OAuthTokens issued;
            try
            {
                issued = await tokens.ExchangeCodeAsync(settings, authorizationCode, state.State, state.Verifier, cancellationToken).ConfigureAwait(false);
            }
            catch (OAuthTokenException ex)
            {
                Log.SignInFailed(logger, session.Provider, session.AccountName, ex.Message);
                return SignInResult<Account>.Fail(StatusCodes.Status502BadGateway, "Exchanging the authorization code failed. " + ex.Message);
            }

            var account = new Account
            {
                Id = Guid.NewGuid().ToString(),
                Name = session.AccountName,
                Provider = session.Provider,
                AuthMethod = AccountAuthMethods.OAuth,
                AccessToken = issued.AccessToken,
                RefreshToken = issued.RefreshToken,
                ExpiresAt = issued.ExpiresAt,
                CreatedAt = time.GetUtcNow(),
            };
            var (outcome, created) = await accounts.AddAsync(account, cancellationToken).ConfigureAwait(false);
            if (outcome != AccountChangeOutcome.Done)
            {
                return SignInResult<Account>.Fail(StatusCodes.Status409Conflict, $"An account named '{session.AccountName}' already exists.");
            }
            // Keep the session (without the verifier) until it expires so its status reads "completed".
            var done = new SessionState { State = state.State, Verifier = string.Empty, CompletedAt = time.GetUtcNow(), AccountId = created!.Id };
            await store.SaveAuthSessionAsync(session with { StateJson = JsonSerializer.Serialize(done) }, cancellationToken).ConfigureAwait(false);
            Log.SignInCompleted(logger, session.Provider, session.AccountName);
            return SignInResult<Account>.Ok(created);
        }
        finally
        {
            _completing.TryRemove(session.Id, out _);
        }
    }

    public async Task<SignInResult<SignInStatus>> GetStatusAsync(string sessionId, CancellationToken cancellationToken)
    {
        var session = await store.GetAuthSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (session is null || ReadState(session) is not { } state)
        {
            return SignInResult<SignInStatus>.Fail(StatusCodes.Status404NotFound, $"Sign-in session '{sessionId}' was not found.");
        }
        var status = state.CompletedAt is not null ? "completed" : session.ExpiresAt <= time.GetUtcNow() ? "expired" : "pending";
        return SignInResult<SignInStatus>.Ok(new SignInStatus(session.Id, session.Provider, session.AccountName, status, session.ExpiresAt, state.AccountId));
    }

    private string? ProblemWithProvider(string provider)
    {
        if (known.Find(provider) is null)
        {
            return $"Provider '{provider}' is unknown; OAuth sign-in supports: {string.Join(", ", providers.Names)}.";
        }
        return providers.Find(provider) is null
            ? $"Provider '{provider}' uses API keys, not OAuth; add it with POST /api/accounts."
            : null;
    }

    private static SessionState? ReadState(AuthSession session)
    {
        try
        {
            var state = JsonSerializer.Deserialize<SessionState>(session.StateJson);
            return state is { State.Length: > 0 } ? state : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    /// <summary>What a pending session remembers (stored encrypted).</summary>
    internal sealed class SessionState
    {
        [JsonPropertyName("verifier")] public string Verifier { get; set; } = string.Empty;
        [JsonPropertyName("state")] public string State { get; set; } = string.Empty;
        [JsonPropertyName("completedAt")] public DateTimeOffset? CompletedAt { get; set; }
        [JsonPropertyName("accountId")] public string? AccountId { get; set; }
    }
}
