using Ccflare.OAuth;

namespace Ccflare.Providers;

/// <summary>
/// Claude subscriptions (Claude Code's sign-in): the Anthropic API reached with an OAuth access
/// token, which Anthropic accepts only with the OAuth beta flag.
/// </summary>
internal sealed class ClaudeCodeProvider(ProviderSettings settings) : AnthropicProvider(settings)
{
    public new const string BuiltInName = "claude-code";

    /// <summary>The beta flag Anthropic requires on requests authenticated with a subscription token.</summary>
    public const string OAuthBetaFlag = "oauth-2025-04-20";

    private const string BetaHeader = "anthropic-beta";

    private static readonly IReadOnlyList<string> Methods = [AccountAuthMethods.OAuth];

    private static readonly OAuthClientSettings Defaults = new(
        BuiltInName,
        "https://claude.ai/oauth/authorize",
        "https://platform.claude.com/v1/oauth/token",
        "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
        "https://platform.claude.com/oauth/code/callback",
        "org:create_api_key user:profile user:inference",
        JsonTokenRequests: true,
        [new("code", "true")]);

    public override string DisplayName => "Claude Code (Claude subscription)";

    public override IReadOnlyList<string> AuthMethods => Methods;

    public override OAuthClientSettings? OAuthDefaults => Defaults;

    public override int? FamilyPrefixRank => 0;

    protected override void OnCredentialApplied(HttpRequestMessage request, Account account)
    {
        if (account.AuthMethod != AccountAuthMethods.OAuth)
        {
            return;
        }
        if (!request.Headers.NonValidated.TryGetValues(BetaHeader, out var values))
        {
            request.Headers.TryAddWithoutValidation(BetaHeader, OAuthBetaFlag);
            return;
        }
        var merged = MergeFlags(values);
        if (merged is not null)
        {
            request.Headers.Remove(BetaHeader);
            request.Headers.TryAddWithoutValidation(BetaHeader, merged);
        }
    }

    /// <summary>The client's flags, each once, with the OAuth flag added; null when they already are exactly that.</summary>
    internal static string? MergeFlags(System.Net.Http.Headers.HeaderStringValues values)
    {
        var flags = new List<string>(4);
        var changed = values.Count > 1;
        foreach (var value in values)
        {
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (flags.Contains(part, StringComparer.OrdinalIgnoreCase))
                {
                    changed = true;
                    continue;
                }
                flags.Add(part);
            }
        }
        if (!flags.Contains(OAuthBetaFlag, StringComparer.OrdinalIgnoreCase))
        {
            flags.Insert(0, OAuthBetaFlag);
            changed = true;
        }
        return changed ? string.Join(',', flags) : null;
    }
}
