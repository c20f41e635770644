namespace Ccflare;

/// <summary>
/// Prices of one model in US dollars per million tokens. Configure overrides under
/// <c>Ccflare:Pricing:{model-id-prefix}</c>, for example <c>Ccflare:Pricing:my-model:Input=3</c>.
/// </summary>
public sealed record ModelPrice
{
    /// <summary>Uncached input tokens, USD per million.</summary>
    public decimal Input { get; init; }

    /// <summary>Output tokens (reasoning tokens included), USD per million.</summary>
    public decimal Output { get; init; }

    /// <summary>Input tokens read from the prompt cache, USD per million.</summary>
    public decimal CacheRead { get; init; }

    /// <summary>Input tokens written to the prompt cache (Anthropic), USD per million.</summary>
    public decimal CacheWrite { get; init; }
}
