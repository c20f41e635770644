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

    public override RateLimitInfo ReadAccountFeedback(int statusCode, HttpResponseHeaders headers, DateTimeOffset now)
    {
        var remaining = ResponseHeaderValues.ParseLong(ResponseHeaderValues.Get(headers, "x-ratelimit-remaining-requests"));
        var resetIn = ResponseHeaderValues.ParseDuration(ResponseHeaderValues.Get(headers, "x-ratelimit-reset-requests"));
        DateTimeOffset? reset = resetIn is { } d ? now + d : null;
        var hard = statusCode == 429 || remaining == 0;
        if (statusCode == 429)
        {
            reset = ResponseHeaderValues.RetryAfter(headers, now) ?? reset;
        }
        string? status = hard ? "rate_limited" : remaining is null && reset is null ? null : "allowed";
        return new RateLimitInfo(status, reset, remaining, hard);
    }
}
