using Microsoft.Extensions.Options;

namespace Ccflare.Hosting;

internal sealed class CcflareOptionsValidator(IEnumerable<ILoadBalancingStrategy> strategies) : IValidateOptions<CcflareOptions>
{
    public ValidateOptionsResult Validate(string? name, CcflareOptions options)
    {
        var failures = new List<string>();
        const string p = CcflareOptions.SectionName + ":";

        var known = new List<string>();
        foreach (var strategy in strategies)
        {
            known.Add(strategy.Name);
        }
        if (!known.Contains(options.LbStrategy, StringComparer.OrdinalIgnoreCase))
        {
            failures.Add($"{p}LbStrategy '{options.LbStrategy}' is not a registered strategy; known: {string.Join(", ", known)}.");
        }
        if (options.SessionDurationMs <= 0)
        {
            failures.Add($"{p}SessionDurationMs must be greater than 0 (was {options.SessionDurationMs}).");
        }
        if (options.RetryAttempts < 0)
        {
            failures.Add($"{p}RetryAttempts must be 0 or more (was {options.RetryAttempts}).");
        }
        if (options.RetryDelayMs < 0)
        {
            failures.Add($"{p}RetryDelayMs must be 0 or more (was {options.RetryDelayMs}).");
        }
        if (options.RetryBackoff < 1)
        {
            failures.Add($"{p}RetryBackoff must be at least 1 (was {options.RetryBackoff}).");
        }
        if (options.MaxStoredPayloadBytes < 0)
        {
            failures.Add($"{p}MaxStoredPayloadBytes must be 0 or more (was {options.MaxStoredPayloadBytes}).");
        }
        if (options.InMemoryMaxRequests < 1)
        {
            failures.Add($"{p}InMemoryMaxRequests must be at least 1 (was {options.InMemoryMaxRequests}).");
        }
        if (options.InMemoryMaxPayloadBytes < 0)
        {
            failures.Add($"{p}InMemoryMaxPayloadBytes must be 0 or more (was {options.InMemoryMaxPayloadBytes}).");
        }
        if (options.StreamBodyMaxBytes < 0)
        {
            failures.Add($"{p}StreamBodyMaxBytes must be 0 or more (was {options.StreamBodyMaxBytes}).");
        }
        if (options.MaxRequestBodyBytes <= 0)
        {
            failures.Add($"{p}MaxRequestBodyBytes must be greater than 0 (was {options.MaxRequestBodyBytes}).");
        }
        if (options.DefaultRateLimitCooldownMs < 0)
        {
            failures.Add($"{p}DefaultRateLimitCooldownMs must be 0 or more (was {options.DefaultRateLimitCooldownMs}).");
        }
        if (options.UpstreamTimeoutMs <= 0)
        {
            failures.Add($"{p}UpstreamTimeoutMs must be greater than 0 (was {options.UpstreamTimeoutMs}).");
        }
        if (options.WriteQueueMaxBodyBytes < 0)
        {
            failures.Add($"{p}WriteQueueMaxBodyBytes must be 0 or more (was {options.WriteQueueMaxBodyBytes}).");
        }
        if (options.WriteQueueCapacity < 1)
        {
            failures.Add($"{p}WriteQueueCapacity must be at least 1 (was {options.WriteQueueCapacity}).");
        }
        if (options.WriteBatchSize < 1)
        {
            failures.Add($"{p}WriteBatchSize must be at least 1 (was {options.WriteBatchSize}).");
        }
        if (options.AdminToken is { Length: > 0 } adminToken)
        {
            if (adminToken.Length < 16 || adminToken.Length > 1024)
            {
                failures.Add($"{p}AdminToken must be between 16 and 1024 characters (was {adminToken.Length}).");
            }
            else if (adminToken.AsSpan().IndexOfAny(" \t\r\n") >= 0 || ContainsControl(adminToken))
            {
                failures.Add($"{p}AdminToken must not contain whitespace or control characters.");
            }
        }
        if (options.WriteQueueFullWaitMs < 0)
        {
            failures.Add($"{p}WriteQueueFullWaitMs must be 0 or more (was {options.WriteQueueFullWaitMs}).");
        }
        if (options.PayloadRetentionDays is < 1 or > Retention.RetentionSettings.MaxDays)
        {
            failures.Add($"{p}PayloadRetentionDays must be between 1 and {Retention.RetentionSettings.MaxDays} (was {options.PayloadRetentionDays}).");
        }
        if (options.RequestRetentionDays is < 1 or > Retention.RetentionSettings.MaxDays)
        {
            failures.Add($"{p}RequestRetentionDays must be between 1 and {Retention.RetentionSettings.MaxDays} (was {options.RequestRetentionDays}).");
        }
        if (options.RetentionIntervalMs < 1000)
        {
            failures.Add($"{p}RetentionIntervalMs must be at least 1000 (was {options.RetentionIntervalMs}).");
        }
        foreach (var (model, price) in options.Pricing)
        {
            if (price is null || price.Input < 0 || price.Output < 0 || price.CacheRead < 0 || price.CacheWrite < 0)
            {
                failures.Add($"{p}Pricing:{model} prices must be 0 or more.");
            }
        }
        if (options.PricesFile is { } pricesFile && !string.IsNullOrWhiteSpace(pricesFile))
        {
            try
            {
                Pricing.PriceList.Load(pricesFile);
            }
            catch (Pricing.PriceListException ex)
            {
                failures.Add($"{p}PricesFile '{pricesFile}' {ex.Message}.");
            }
        }
        var breaker = options.CircuitBreaker;
        if (breaker.FailureRatio is <= 0 or > 1)
        {
            failures.Add($"{p}CircuitBreaker:FailureRatio must be greater than 0 and at most 1 (was {breaker.FailureRatio}).");
        }
        if (breaker.MinimumThroughput < 2)
        {
            failures.Add($"{p}CircuitBreaker:MinimumThroughput must be at least 2 (was {breaker.MinimumThroughput}).");
        }
        if (breaker.SamplingDurationMs < 500)
        {
            failures.Add($"{p}CircuitBreaker:SamplingDurationMs must be at least 500 (was {breaker.SamplingDurationMs}).");
        }
        if (breaker.BreakDurationMs < 500)
        {
            failures.Add($"{p}CircuitBreaker:BreakDurationMs must be at least 500 (was {breaker.BreakDurationMs}).");
        }
        foreach (var (list, key) in new[] { (options.Headers.DropRequestHeaders, "DropRequestHeaders"), (options.Headers.DropResponseHeaders, "DropResponseHeaders"), (options.Headers.MaskHeaders, "MaskHeaders") })
        {
            foreach (var header in list)
            {
                if (string.IsNullOrWhiteSpace(header) || header.AsSpan().IndexOfAny(" \t\r\n:") >= 0)
                {
                    failures.Add($"{p}Headers:{key} contains an invalid header name '{header}'.");
                }
            }
        }
        foreach (var host in options.AllowedHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || host == "*" || host.Contains("://", StringComparison.Ordinal) || host.AsSpan().IndexOfAny(" \t\r\n/") >= 0)
            {
                failures.Add($"{p}AllowedHosts contains '{host}'; list host names such as 'ccflare.example.com' or '*.example.com' (no scheme, path or '*').");
            }
        }
        foreach (var origin in options.AllowedOrigins)
        {
            if (origin is null || !Security.OriginText.TryNormalize(origin, out _))
            {
                failures.Add($"{p}AllowedOrigins contains '{origin}'; list origins such as 'https://app.example.com' (scheme, host and optional port, no path).");
            }
        }
        if (!(options.Usage.SwitchAtUtilization is > 0 and <= 1))
        {
            failures.Add($"{p}Usage:SwitchAtUtilization must be greater than 0 and at most 1 (was {options.Usage.SwitchAtUtilization}).");
        }
        if (options.Usage.PollIntervalSeconds is < 0 or (> 0 and < Ccflare.Usage.Polling.UsagePoller.MinimumIntervalSeconds) or > Ccflare.Usage.Polling.UsagePoller.MaximumIntervalSeconds)
        {
            failures.Add($"{p}Usage:PollIntervalSeconds must be 0 (off) or from {Ccflare.Usage.Polling.UsagePoller.MinimumIntervalSeconds} to {Ccflare.Usage.Polling.UsagePoller.MaximumIntervalSeconds} (was {options.Usage.PollIntervalSeconds}).");
        }
        foreach (var (provider, providerOptions) in options.Providers)
        {
            Providers.ProviderDefinitionRules.Validate(failures, $"{p}Providers:{provider}", provider, providerOptions);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool ContainsControl(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }
        return false;
    }
}

internal static class UrlRules
{
    public static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.IsNullOrEmpty(uri.UserInfo)
        && string.IsNullOrEmpty(uri.Query)
        && string.IsNullOrEmpty(uri.Fragment);
}
