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
        /// <c>retry-after</c>, then the reset of the spent limit (the later one when both are spent),
        /// then the sooner of the two resets, because a 429 that does not say which limit it hit must not
        /// rest a key for a daily request limit when a per-minute token limit was the one reached.
        /// </summary>
        public readonly RateLimitInfo ToRateLimit(int statusCode, DateTimeOffset now)
        {
            var requestsSpent = _remainingRequests == 0;
            var tokensSpent = _remainingTokens == 0;
            var hard = statusCode == 429 || requestsSpent || tokensSpent;
            var resetIn = !hard ? _resetRequests ?? _resetTokens
                : requestsSpent && tokensSpent ? Later(_resetRequests, _resetTokens)
                : requestsSpent ? _resetRequests
                : tokensSpent ? _resetTokens
                : Sooner(_resetRequests, _resetTokens);
            DateTimeOffset? reset = resetIn is { } d ? now + d : null;
            if (statusCode == 429)
            {
                reset = ResponseHeaderValues.RetryAfter(_retryAfter, now) ?? reset;
            }
            string? status = hard ? "rate_limited" : _remainingRequests is null && reset is null ? null : "allowed";
            return new RateLimitInfo(status, reset, _remainingRequests, hard);
        }

        private static TimeSpan? Later(TimeSpan? a, TimeSpan? b) => a is { } x && b is { } y ? (x > y ? x : y) : a ?? b;

        private static TimeSpan? Sooner(TimeSpan? a, TimeSpan? b) => a is { } x && b is { } y ? (x < y ? x : y) : a ?? b;
    }
}
