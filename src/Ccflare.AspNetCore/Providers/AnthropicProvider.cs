using System.Net.Http.Headers;
using Ccflare.Compat;

namespace Ccflare.Providers;

/// <summary>
/// The Anthropic family: Messages API, <c>x-api-key</c> by default, <c>anthropic-ratelimit-unified-*</c>
/// headers. The built-in <c>anthropic</c> provider and every provider configured with
/// <c>Family = anthropic</c> (an Anthropic-compatible endpoint) are instances of it.
/// </summary>
internal class AnthropicProvider(ProviderSettings settings) : UpstreamProvider(settings)
{
    public const string BuiltInName = "anthropic";
    public const string DefaultBaseUrl = "https://api.anthropic.com";

    private static readonly string[] HardStatuses = ["rejected", "rate_limited", "blocked", "queueing_hard", "payment_required"];

    public override ProviderFamily Family => ProviderFamily.Anthropic;

    public override string DisplayName => IsBuiltIn && Name == BuiltInName ? "Anthropic (API key)" : Name;

    public override int? FamilyPrefixRank => IsBuiltIn && Name == BuiltInName ? 1 : null;

    public override WireSchema UpstreamSchema(WireSchema client) => WireSchema.Messages;

    public override bool ForwardsClientHeader(string name) => !name.StartsWith("openai-", StringComparison.OrdinalIgnoreCase);

    public override void AddCompatHeaders(HttpRequestMessage request)
    {
        if (!request.Headers.Contains("anthropic-version"))
        {
            // OpenAI clients do not send it; Anthropic requires it.
            request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        }
    }

    public override RateLimitInfo ReadAccountFeedback(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var status = ResponseHeaderValues.Get(headers, "anthropic-ratelimit-unified-status");
        var reset = ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, "anthropic-ratelimit-unified-reset"));
        var remaining = ResponseHeaderValues.ParseLong(ResponseHeaderValues.Get(headers, "anthropic-ratelimit-unified-remaining"));
        var hard = status is not null && Array.IndexOf(HardStatuses, status) >= 0;

        if (statusCode == 429)
        {
            hard = true;
            status ??= "rate_limited";
            reset ??= ResponseHeaderValues.ParseEpochSeconds(ResponseHeaderValues.Get(headers, "x-ratelimit-reset")) ?? ResponseHeaderValues.RetryAfter(headers, now);
        }
        return new RateLimitInfo(status, reset, remaining, hard);
    }
}
