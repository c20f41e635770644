using System.Collections.Frozen;

namespace Ccflare.Providers;

/// <summary>Which wire format and header family a provider speaks.</summary>
internal enum ProviderFamily
{
    Anthropic,
    OpenAI,
}

internal sealed record ProviderDescriptor(
    string Name,
    ProviderFamily Family,
    string DefaultBaseUrl,
    bool UsesOAuth)
{
    /// <summary>Codex reports its own usage-window headers on top of the OpenAI ones.</summary>
    public bool IsCodex => Name == ProviderCatalog.Codex;
}

internal static class ProviderCatalog
{
    public const string Anthropic = "anthropic";
    public const string ClaudeCode = "claude-code";
    public const string OpenAI = "openai";
    public const string Codex = "codex";

    private static readonly ProviderDescriptor[] All =
    [
        new(Anthropic, ProviderFamily.Anthropic, "https://api.anthropic.com", UsesOAuth: false),
        new(ClaudeCode, ProviderFamily.Anthropic, "https://api.anthropic.com", UsesOAuth: true),
        new(OpenAI, ProviderFamily.OpenAI, "https://api.openai.com/v1", UsesOAuth: false),
        new(Codex, ProviderFamily.OpenAI, "https://chatgpt.com/backend-api/codex", UsesOAuth: true),
    ];

    private static readonly FrozenDictionary<string, ProviderDescriptor> ByName =
        All.ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);

    public static IReadOnlyList<string> Names { get; } = [Anthropic, ClaudeCode, OpenAI, Codex];

    public static IReadOnlyList<ProviderDescriptor> Descriptors => All;

    public static ProviderDescriptor? Find(string name) =>
        ByName.TryGetValue(name, out var descriptor) ? descriptor : null;
}
