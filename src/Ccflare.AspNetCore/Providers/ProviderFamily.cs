namespace Ccflare.Providers;

/// <summary>Which wire format and header family a provider speaks.</summary>
internal enum ProviderFamily
{
    Anthropic,
    OpenAI,
}

internal static class ProviderFamilies
{
    public const string Anthropic = "anthropic";
    public const string OpenAI = "openai";

    public static string Name(this ProviderFamily family) => family == ProviderFamily.Anthropic ? Anthropic : OpenAI;

    public static ProviderFamily? Parse(string? value) => value?.ToLowerInvariant() switch
    {
        Anthropic => ProviderFamily.Anthropic,
        OpenAI => ProviderFamily.OpenAI,
        _ => null,
    };
}

/// <summary>Where an API key goes: Anthropic's <c>x-api-key</c> header or <c>Authorization: Bearer</c>.</summary>
internal enum ApiKeyStyle
{
    XApiKey,
    Bearer,
}

internal static class ApiKeyStyles
{
    public const string XApiKey = "x-api-key";
    public const string Bearer = "bearer";

    public static ApiKeyStyle? Parse(string? value) => value?.ToLowerInvariant() switch
    {
        XApiKey => ApiKeyStyle.XApiKey,
        Bearer => ApiKeyStyle.Bearer,
        _ => null,
    };
}
