using System.Collections.Frozen;
using Microsoft.Extensions.Options;

namespace Ccflare.Providers;

/// <summary>
/// The providers this host serves: the built-in registrations (with their configuration
/// overrides) and the providers defined by configuration (<c>Ccflare:Providers:&lt;name&gt;:Family</c>)
/// or in code (<c>AddProvider</c>). Fixed at start-up, after options validation.
/// </summary>
internal sealed class ProviderRegistry
{
    /// <summary>A provider Ccflare ships: its name, family, default base URL and how to create it.</summary>
    internal sealed record BuiltIn(string Name, ProviderFamily Family, string DefaultBaseUrl, Func<ProviderSettings, UpstreamProvider> Create, string? DefaultUsageUrl = null);

    public static IReadOnlyList<BuiltIn> BuiltIns { get; } =
    [
        new(AnthropicProvider.BuiltInName, ProviderFamily.Anthropic, AnthropicProvider.DefaultBaseUrl, static s => new AnthropicProvider(s)),
        new(ClaudeCodeProvider.BuiltInName, ProviderFamily.Anthropic, AnthropicProvider.DefaultBaseUrl, static s => new ClaudeCodeProvider(s), ClaudeCodeProvider.DefaultUsageUrl),
        new(OpenAIProvider.BuiltInName, ProviderFamily.OpenAI, OpenAIProvider.DefaultBaseUrl, static s => new OpenAIProvider(s)),
        new(CodexProvider.BuiltInName, ProviderFamily.OpenAI, CodexProvider.DefaultBaseUrl, static s => new CodexProvider(s), CodexProvider.DefaultUsageUrl),
    ];

    /// <summary>The path segment the compatibility routes own (<c>/v1/ccflare/…</c>); no provider may take it.</summary>
    public const string ReservedName = "ccflare";

    private readonly UpstreamProvider[] _all;
    private readonly FrozenDictionary<string, UpstreamProvider> _byName;
    private readonly FrozenDictionary<string, UpstreamProvider[]> _byModelPrefix;

    public ProviderRegistry(IOptions<CcflareOptions> options)
        : this(options.Value.Providers)
    {
    }

    internal ProviderRegistry(IReadOnlyDictionary<string, ProviderOptions> configured)
    {
        var all = new List<UpstreamProvider>(BuiltIns.Count + configured.Count);
        foreach (var builtIn in BuiltIns)
        {
            configured.TryGetValue(builtIn.Name, out var overrides);
            all.Add(builtIn.Create(Settings(builtIn.Name, builtIn.Family, overrides, builtIn.DefaultBaseUrl, isBuiltIn: true) with
            {
                // An empty UsageUrl turns polling off for the provider.
                UsageUrl = overrides?.UsageUrl is { } usageUrl ? (usageUrl.Length == 0 ? null : usageUrl) : builtIn.DefaultUsageUrl,
            }));
        }
        foreach (var (name, definition) in configured)
        {
            if (FindBuiltIn(name) is not null || ProviderFamilies.Parse(definition.Family) is not { } family || definition.BaseUrl is null)
            {
                // Built-in overrides are applied above; invalid definitions stop start-up in options validation.
                continue;
            }
            var settings = Settings(name, family, definition, definition.BaseUrl, isBuiltIn: false);
            all.Add(family == ProviderFamily.Anthropic ? new AnthropicProvider(settings) : new OpenAIProvider(settings));
        }
        _all = [.. all];
        _byName = _all.ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);
        _byModelPrefix = BuildModelPrefixes(_all);
        Names = Array.ConvertAll(_all, p => p.Name);
    }

    public IReadOnlyList<UpstreamProvider> All => _all;

    public IReadOnlyList<string> Names { get; }

    public UpstreamProvider? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// The providers a compat model prefix (<c>&lt;prefix&gt;/model</c>) draws accounts from, in order:
    /// a family name gives the built-in providers of that family (OAuth first), any other
    /// provider name gives that provider; null when the prefix names nothing.
    /// </summary>
    public UpstreamProvider[]? ForModelPrefix(string prefix) => _byModelPrefix.GetValueOrDefault(prefix);

    public static BuiltIn? FindBuiltIn(string name)
    {
        foreach (var builtIn in BuiltIns)
        {
            if (string.Equals(builtIn.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return builtIn;
            }
        }
        return null;
    }

    private static ProviderSettings Settings(string name, ProviderFamily family, ProviderOptions? options, string defaultBaseUrl, bool isBuiltIn)
    {
        var keyStyle = ApiKeyStyles.Parse(options?.Auth) ?? (family == ProviderFamily.Anthropic ? ApiKeyStyle.XApiKey : ApiKeyStyle.Bearer);
        var extra = options is null ? [] : options.ExtraHeaders.ToArray();
        return new ProviderSettings(isBuiltIn ? name : name.ToLowerInvariant(), options?.BaseUrl ?? defaultBaseUrl, keyStyle, extra, isBuiltIn);
    }

    private static FrozenDictionary<string, UpstreamProvider[]> BuildModelPrefixes(UpstreamProvider[] all)
    {
        var prefixes = new Dictionary<string, UpstreamProvider[]>(StringComparer.Ordinal);
        foreach (var provider in all)
        {
            prefixes[provider.Name] = [provider];
        }
        foreach (var family in new[] { ProviderFamily.Anthropic, ProviderFamily.OpenAI })
        {
            var members = all.Where(p => p.Family == family && p.FamilyPrefixRank is not null).OrderBy(p => p.FamilyPrefixRank).ToArray();
            if (members.Length > 0)
            {
                prefixes[family.Name()] = members;
            }
        }
        return prefixes.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
