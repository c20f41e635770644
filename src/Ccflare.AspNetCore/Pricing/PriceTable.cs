using System.Collections.Concurrent;
using Ccflare.Diagnostics;
using Ccflare.Usage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Pricing;

/// <summary>
/// Per-model prices: the built-in table for current Anthropic and OpenAI models, overridden
/// and extended by <see cref="CcflareOptions.Pricing"/>. A model id matches the entry with
/// the longest prefix of it (case-insensitive), so dated ids like <c>claude-sonnet-4-5-20250929</c>
/// use the <c>claude-sonnet-4-5</c> price. Unknown models are never guessed: they cost 0
/// and are reported once in the log.
/// </summary>
internal sealed class PriceTable
{
    private readonly KeyValuePair<string, ModelPrice>[] _entries;
    private readonly ConcurrentDictionary<string, ModelPrice?> _cache = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, byte> _reportedUnknown = new(StringComparer.OrdinalIgnoreCase);
    private readonly ILogger<PriceTable> _logger;

    public PriceTable(IOptions<CcflareOptions> options, ILogger<PriceTable> logger)
        : this(options.Value.Pricing, logger)
    {
    }

    internal PriceTable(IReadOnlyDictionary<string, ModelPrice> overrides, ILogger<PriceTable> logger)
    {
        _logger = logger;
        var merged = new Dictionary<string, ModelPrice>(BuiltIn, StringComparer.OrdinalIgnoreCase);
        foreach (var (model, price) in overrides)
        {
            merged[model] = price;
        }
        // Longest prefix first, so the first match wins.
        _entries = [.. merged.OrderByDescending(e => e.Key.Length).ThenBy(e => e.Key, StringComparer.Ordinal)];
    }

    /// <summary>The built-in prices (USD per million tokens; cache write = Anthropic's 5-minute cache write).</summary>
    public static IReadOnlyDictionary<string, ModelPrice> BuiltIn { get; } = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase)
    {
        // Anthropic
        ["claude-opus-4-5"] = Anthropic(5m, 25m),
        ["claude-opus-4-1"] = Anthropic(15m, 75m),
        ["claude-opus-4"] = Anthropic(15m, 75m),
        ["claude-sonnet-4-5"] = Anthropic(3m, 15m),
        ["claude-sonnet-4"] = Anthropic(3m, 15m),
        ["claude-haiku-4-5"] = Anthropic(1m, 5m),
        ["claude-3-7-sonnet"] = Anthropic(3m, 15m),
        ["claude-3-5-sonnet"] = Anthropic(3m, 15m),
        ["claude-3-5-haiku"] = Anthropic(0.8m, 4m),
        ["claude-3-opus"] = Anthropic(15m, 75m),
        ["claude-3-sonnet"] = Anthropic(3m, 15m),
        ["claude-3-haiku"] = new ModelPrice { Input = 0.25m, Output = 1.25m, CacheRead = 0.03m, CacheWrite = 0.30m },

        // OpenAI
        ["gpt-5.1-codex-mini"] = OpenAI(0.25m, 0.025m, 2m),
        ["gpt-5.1-codex"] = OpenAI(1.25m, 0.125m, 10m),
        ["gpt-5.1"] = OpenAI(1.25m, 0.125m, 10m),
        ["gpt-5-codex"] = OpenAI(1.25m, 0.125m, 10m),
        ["gpt-5-mini"] = OpenAI(0.25m, 0.025m, 2m),
        ["gpt-5-nano"] = OpenAI(0.05m, 0.005m, 0.4m),
        ["gpt-5"] = OpenAI(1.25m, 0.125m, 10m),
        ["gpt-4.1-mini"] = OpenAI(0.4m, 0.1m, 1.6m),
        ["gpt-4.1-nano"] = OpenAI(0.1m, 0.025m, 0.4m),
        ["gpt-4.1"] = OpenAI(2m, 0.5m, 8m),
        ["gpt-4o-mini"] = OpenAI(0.15m, 0.075m, 0.6m),
        ["gpt-4o"] = OpenAI(2.5m, 1.25m, 10m),
        ["o4-mini"] = OpenAI(1.1m, 0.275m, 4.4m),
        ["o3-pro"] = OpenAI(20m, 20m, 80m),
        ["o3-mini"] = OpenAI(1.1m, 0.55m, 4.4m),
        ["o3"] = OpenAI(2m, 0.5m, 8m),
        ["o1-pro"] = OpenAI(150m, 150m, 600m),
        ["o1-mini"] = OpenAI(1.1m, 0.55m, 4.4m),
        ["o1"] = OpenAI(15m, 7.5m, 60m),
        ["codex-mini-latest"] = OpenAI(1.5m, 0.375m, 6m),
    };

    // Anthropic cache reads cost 10% and 5-minute cache writes 125% of the input price.
    private static ModelPrice Anthropic(decimal input, decimal output) =>
        new() { Input = input, Output = output, CacheRead = input / 10m, CacheWrite = input * 1.25m };

    private static ModelPrice OpenAI(decimal input, decimal cachedInput, decimal output) =>
        new() { Input = input, Output = output, CacheRead = cachedInput, CacheWrite = input };

    /// <summary>The price for <paramref name="model"/>, or null when no entry matches.</summary>
    public ModelPrice? Find(string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            return null;
        }
        return _cache.GetOrAdd(model, static (id, entries) =>
        {
            foreach (var (prefix, price) in entries)
            {
                if (id.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    return price;
                }
            }
            return null;
        }, _entries);
    }

    /// <summary>
    /// Cost in USD of <paramref name="usage"/> for <paramref name="model"/>: null when the
    /// response reported no tokens, 0 (and <paramref name="unknown"/> set) when the model has no price.
    /// </summary>
    public decimal? Cost(string? model, UsageInfo usage, out bool unknown)
    {
        unknown = false;
        if (!usage.HasTokens)
        {
            return null;
        }
        var price = Find(model);
        if (price is null)
        {
            unknown = true;
            if (_reportedUnknown.TryAdd(model ?? string.Empty, 0))
            {
                Log.UnknownModelPrice(_logger, model ?? "(none)");
            }
            return 0m;
        }
        return Compute(price, usage);
    }

    /// <summary>Input, cache and output tokens times their prices. Reasoning tokens are part of output tokens.</summary>
    public static decimal Compute(ModelPrice price, UsageInfo usage) =>
        ((usage.InputTokens ?? 0) * price.Input
        + (usage.CacheReadInputTokens ?? 0) * price.CacheRead
        + (usage.CacheCreationInputTokens ?? 0) * price.CacheWrite
        + (usage.OutputTokens ?? 0) * price.Output) / 1_000_000m;
}
