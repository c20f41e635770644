using System.Collections.Concurrent;
using Ccflare.Diagnostics;
using Ccflare.Usage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Pricing;

/// <summary>A model's price and whether it is its family's estimate rather than its own.</summary>
internal readonly record struct PriceMatch(ModelPrice Price, bool Estimated);

/// <summary>
/// Per-model prices: the built-in list shipped with the package (<c>Pricing/prices.json</c>), extended
/// or replaced by the file at <see cref="CcflareOptions.PricesFile"/> (reloaded when it changes) and
/// then by <see cref="CcflareOptions.Pricing"/>. A model id is priced by, in order: its own entry; the
/// entry of the id without a snapshot date or alias suffix (<c>claude-sonnet-4-5-20250929</c> is
/// <c>claude-sonnet-4-5</c>); a configured <c>Ccflare:Pricing</c> key it starts with, unless what follows
/// is a version number; the newest known model of its family (<c>claude-opus-9-9</c> is priced as the
/// newest <c>claude-opus-*</c>), marked as an estimate. A newer model never takes an older one's price by
/// prefix (<c>claude-opus-4-8</c> is not <c>claude-opus-4</c>). A model of no known family costs 0 and is
/// reported once in the log.
/// </summary>
internal sealed class PriceTable : IDisposable
{
    /// <summary>How often the prices file is checked for changes.</summary>
    internal static readonly TimeSpan ReloadInterval = TimeSpan.FromSeconds(2);

    private readonly IReadOnlyDictionary<string, ModelPrice> _configured;
    private readonly string? _pricesFile;
    private readonly ILogger _logger;
    private readonly ITimer? _timer;
    private readonly ConcurrentDictionary<string, byte> _reportedUnknown = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _reloadGate = new();
    private volatile Snapshot _snapshot;
    private (DateTime WriteTime, long Length) _fileStamp;

    public PriceTable(IOptions<CcflareOptions> options, ILogger<PriceTable> logger, TimeProvider time)
        : this(options.Value.Pricing, options.Value.PricesFile, time, logger)
    {
    }

    /// <summary>A table of the built-in prices and <paramref name="configured"/> only.</summary>
    internal PriceTable(IReadOnlyDictionary<string, ModelPrice> configured, ILogger logger)
        : this(configured, pricesFile: null, time: null, logger)
    {
    }

    internal PriceTable(IReadOnlyDictionary<string, ModelPrice> configured, string? pricesFile, TimeProvider? time, ILogger logger)
    {
        _configured = configured;
        _pricesFile = string.IsNullOrWhiteSpace(pricesFile) ? null : Path.GetFullPath(pricesFile);
        _logger = logger;
        _snapshot = new Snapshot(PriceList.BuiltIn, null, configured);
        if (_pricesFile is not null)
        {
            Reload();
            if (time is not null)
            {
                _timer = time.CreateTimer(static state => ((PriceTable)state!).Reload(), this, ReloadInterval, ReloadInterval);
            }
        }
    }

    /// <summary>The price for <paramref name="model"/>, or null when neither it nor its family is known.</summary>
    public ModelPrice? Find(string? model) => Resolve(model)?.Price;

    /// <summary>The price for <paramref name="model"/> and whether it is an estimate, or null when neither it nor its family is known.</summary>
    public PriceMatch? Resolve(string? model) => string.IsNullOrWhiteSpace(model) ? null : _snapshot.Resolve(model);

    /// <summary>
    /// Cost in USD of <paramref name="usage"/> for <paramref name="model"/>: null when the response
    /// reported no tokens, 0 (and <paramref name="unknown"/> set) when neither the model nor its family
    /// has a price; <paramref name="estimated"/> when the family's price was used.
    /// </summary>
    public decimal? Cost(string? model, UsageInfo usage, out bool unknown, out bool estimated)
    {
        unknown = false;
        estimated = false;
        if (!usage.HasTokens)
        {
            return null;
        }
        if (Resolve(model) is not { } match)
        {
            unknown = true;
            if (_reportedUnknown.Count < 1024 && _reportedUnknown.TryAdd(model ?? string.Empty, 0))
            {
                Log.UnknownModelPrice(_logger, model ?? "(none)");
            }
            return 0m;
        }
        estimated = match.Estimated;
        return Compute(match.Price, usage);
    }

    /// <inheritdoc cref="Cost(string?, UsageInfo, out bool, out bool)"/>
    public decimal? Cost(string? model, UsageInfo usage, out bool unknown) => Cost(model, usage, out unknown, out _);

    /// <summary>Input, cache and output tokens times their prices. Reasoning tokens are part of output tokens.</summary>
    public static decimal Compute(ModelPrice price, UsageInfo usage) =>
        ((usage.InputTokens ?? 0) * price.Input
        + (usage.CacheReadInputTokens ?? 0) * price.CacheRead
        + (usage.CacheCreationInputTokens ?? 0) * price.CacheWrite
        + (usage.OutputTokens ?? 0) * price.Output) / 1_000_000m;

    /// <summary>Reads the prices file again when it changed; a file that cannot be used keeps the last good table.</summary>
    internal void Reload()
    {
        if (_pricesFile is not { } path)
        {
            return;
        }
        lock (_reloadGate)
        {
            (DateTime, long) stamp;
            try
            {
                var info = new FileInfo(path);
                stamp = info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                stamp = (DateTime.MinValue, -1);
            }
            if (stamp == _fileStamp)
            {
                return;
            }
            _fileStamp = stamp;
            try
            {
                var contents = PriceList.Load(path);
                _snapshot = new Snapshot(PriceList.BuiltIn, contents, _configured);
                Log.PricesFileLoaded(_logger, path, contents.Prices.Count);
            }
            catch (PriceListException ex)
            {
                Log.PricesFileRejected(_logger, path, ex.Message);
            }
        }
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>One immutable generation of the table; a reload swaps in a new one.</summary>
    private sealed class Snapshot
    {
        private const int MaxCachedIds = 4096;

        private readonly Dictionary<string, ModelPrice> _exact = new(StringComparer.OrdinalIgnoreCase);
        private readonly KeyValuePair<string, ModelPrice>[] _configuredPrefixes;
        private readonly Dictionary<string, (int[] Version, ModelPrice Price)> _newestOfFamily = new(StringComparer.OrdinalIgnoreCase);
        private readonly ConcurrentDictionary<string, PriceMatch?> _cache = new(StringComparer.OrdinalIgnoreCase);

        public Snapshot(IReadOnlyDictionary<string, ModelPrice> builtIn, PriceList.Contents? file, IReadOnlyDictionary<string, ModelPrice> configured)
        {
            if (file is not { Replace: true })
            {
                AddAll(builtIn);
            }
            if (file is not null)
            {
                AddAll(file.Prices);
            }
            AddAll(configured);
            var prefixes = new List<KeyValuePair<string, ModelPrice>>(configured.Count);
            foreach (var (model, price) in configured)
            {
                prefixes.Add(new(ModelId.Normalize(model), price));
            }
            // Longest first, so the most specific configured key wins.
            _configuredPrefixes = [.. prefixes.OrderByDescending(e => e.Key.Length).ThenBy(e => e.Key, StringComparer.Ordinal)];
            foreach (var (model, price) in _exact)
            {
                var id = ModelId.WithoutSuffix(model) ?? model;
                if (ModelId.TryFamily(id, out var family, out var version)
                    && (!_newestOfFamily.TryGetValue(family, out var newest) || ModelId.CompareVersions(version, newest.Version) > 0))
                {
                    _newestOfFamily[family] = (version, price);
                }
            }
        }

        private void AddAll(IReadOnlyDictionary<string, ModelPrice> prices)
        {
            foreach (var (model, price) in prices)
            {
                _exact[ModelId.Normalize(model)] = price;
            }
        }

        public PriceMatch? Resolve(string model)
        {
            if (_cache.TryGetValue(model, out var cached))
            {
                return cached;
            }
            var match = Lookup(ModelId.Normalize(model));
            if (_cache.Count < MaxCachedIds)
            {
                _cache.TryAdd(model, match);
            }
            return match;
        }

        private PriceMatch? Lookup(string id)
        {
            if (_exact.TryGetValue(id, out var price))
            {
                return new PriceMatch(price, Estimated: false);
            }
            var baseId = id;
            while (ModelId.WithoutSuffix(baseId) is { } shorter)
            {
                baseId = shorter;
                if (_exact.TryGetValue(baseId, out price))
                {
                    return new PriceMatch(price, Estimated: false);
                }
            }
            foreach (var (prefix, configuredPrice) in _configuredPrefixes)
            {
                if (baseId.StartsWith(prefix, StringComparison.Ordinal) && !StartsWithVersion(baseId.AsSpan(prefix.Length)))
                {
                    return new PriceMatch(configuredPrice, Estimated: false);
                }
            }
            if (ModelId.TryFamily(baseId, out var family, out _) && _newestOfFamily.TryGetValue(family, out var newest))
            {
                return new PriceMatch(newest.Price, Estimated: true);
            }
            return null;
        }

        /// <summary>True when what follows a prefix names another version (<c>-8</c>, <c>.1</c>, <c>5</c>), not a variant (<c>-v2</c>, <c>-beta</c>).</summary>
        private static bool StartsWithVersion(ReadOnlySpan<char> rest)
        {
            if (rest.IsEmpty)
            {
                return false;
            }
            if (rest[0] is '-' or '.' or '_')
            {
                rest = rest[1..];
            }
            return !rest.IsEmpty && char.IsAsciiDigit(rest[0]);
        }
    }
}
