using System.Net.Http.Headers;
using Ccflare.Compat;

namespace Ccflare.Providers;

/// <summary>
/// The OpenAI family: Chat Completions and Responses, bearer credentials, <c>x-ratelimit-*</c>
/// headers. The built-in <c>openai</c> provider and every provider configured with
/// <c>Family = openai</c> (an OpenAI-compatible endpoint) are instances of it.
/// </summary>
internal class OpenAIProvider(ProviderSettings settings) : UpstreamProvider(settings)
{
    public const string BuiltInName = "openai";
    public const string DefaultBaseUrl = "https://api.openai.com/v1";

    public override ProviderFamily Family => ProviderFamily.OpenAI;

    public override string DisplayName => IsBuiltIn && Name == BuiltInName ? "OpenAI (API key)" : Name;

    public override int? FamilyPrefixRank => IsBuiltIn && Name == BuiltInName ? 1 : null;

    public override WireSchema UpstreamSchema(WireSchema client) => client == WireSchema.Messages ? WireSchema.Chat : client;

    public override bool ForwardsClientHeader(string name) => !name.StartsWith("anthropic-", StringComparison.OrdinalIgnoreCase);

    public override AccountFeedback ReadAccountFeedback(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var limits = new RateLimitHeaders();
        foreach (var header in headers.NonValidated)
        {
            limits.Add(header.Key, header.Value);
        }
        return new AccountFeedback(limits.ToRateLimit(statusCode, now), null);
    }

    /// <summary>
    /// The <c>x-ratelimit-*</c> request and token limits of one response, and its <c>retry-after</c>.
    /// The resets are durations such as <c>6m0s</c>, <c>1s</c> or <c>20ms</c>.
    /// </summary>
    protected struct RateLimitHeaders
    {
        private const string Prefix = "x-ratelimit-";

        private long? _remainingRequests;
        private long? _remainingTokens;
        private TimeSpan? _resetRequests;
        private TimeSpan? _resetTokens;
        private string? _retryAfter;

        /// <summary>Takes the header when it is one of these; false for any other header.</summary>
        public bool Add(string name, HeaderStringValues values)
        {
            if (!name.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                if (!name.Equals("retry-after", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
                _retryAfter = values.ToString();
                return true;
            }
            var field = name.AsSpan(Prefix.Length);
            if (field.Equals("remaining-requests", StringComparison.OrdinalIgnoreCase))
            {
                _remainingRequests = ResponseHeaderValues.ParseLong(values.ToString());
            }
            else if (field.Equals("remaining-tokens", StringComparison.OrdinalIgnoreCase))
            {
                _remainingTokens = ResponseHeaderValues.ParseLong(values.ToString());
            }
            else if (field.Equals("reset-requests", StringComparison.OrdinalIgnoreCase))
            {
                _resetRequests = ResponseHeaderValues.ParseDuration(values.ToString());
            }
            else if (field.Equals("reset-tokens", StringComparison.OrdinalIgnoreCase))
            {
                _resetTokens = ResponseHeaderValues.ParseDuration(values.ToString());
            }
            return true;
        }

        /// <summary>
        /// A 429, or a limit with nothing remaining, limits the key until the most specific reset:
        /// <c>retry-after</c>, then the reset of the limit it hit (see <see cref="LimitResets"/>).
        /// </summary>
        public readonly RateLimitInfo ToRateLimit(int statusCode, DateTimeOffset now)
        {
            DateTimeOffset? requestsReset = _resetRequests is { } r ? now + r : null;
            DateTimeOffset? tokensReset = _resetTokens is { } t ? now + t : null;
            var limits = new LimitResets();
            limits.Add(_remainingRequests, requestsReset);
            limits.Add(_remainingTokens, tokensReset);
            var hard = statusCode == 429 || limits.AnySpent;
            var reset = hard ? limits.Reset : requestsReset ?? tokensReset;
            if (statusCode == 429)
            {
                reset = ResponseHeaderValues.RetryAfter(_retryAfter, now) ?? reset;
            }
            string? status = hard ? "rate_limited" : _remainingRequests is null && reset is null ? null : "allowed";
            return new RateLimitInfo(status, reset, _remainingRequests, hard);
        }
    }
}
