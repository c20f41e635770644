using Ccflare.Hosting;

namespace Ccflare.Providers;

/// <summary>What makes a <c>Ccflare:Providers:&lt;name&gt;</c> entry valid; every message names the key at fault.</summary>
internal static class ProviderDefinitionRules
{
    private const int MaxNameLength = 64;

    public static void Validate(List<string> failures, string key, string name, ProviderOptions options)
    {
        var builtIn = ProviderRegistry.FindBuiltIn(name);
        if (builtIn is not null)
        {
            ValidateBuiltInOverride(failures, key, builtIn, options);
        }
        else if (ValidateNewDefinition(failures, key, name, options))
        {
            return;
        }
        CheckUrl(failures, key + ":BaseUrl", options.BaseUrl);
        CheckUrl(failures, key + ":AuthorizeUrl", options.AuthorizeUrl);
        CheckUrl(failures, key + ":TokenUrl", options.TokenUrl);
        CheckUrl(failures, key + ":RedirectUri", options.RedirectUri);
        if (options.UsageUrl is { Length: > 0 } usageUrl)
        {
            CheckUrl(failures, key + ":UsageUrl", usageUrl);
        }
        ValidateExtraHeaders(failures, key, options);
    }

    private static void ValidateBuiltInOverride(List<string> failures, string key, ProviderRegistry.BuiltIn builtIn, ProviderOptions options)
    {
        if (options.Family is not null && ProviderFamilies.Parse(options.Family) != builtIn.Family)
        {
            failures.Add($"{key}:Family cannot change the family of the built-in provider '{builtIn.Name}' ({builtIn.Family.Name()}).");
        }
        if (options.Auth is not null)
        {
            failures.Add($"{key}:Auth applies only to providers defined by configuration; '{builtIn.Name}' sends its credentials its own way.");
        }
        if (options.UsageUrl is not null && builtIn.DefaultUsageUrl is null)
        {
            failures.Add($"{key}:UsageUrl applies only to providers whose OAuth accounts have a usage endpoint ({UsagePollingProviders()}); '{builtIn.Name}' has none.");
        }
    }

    private static string UsagePollingProviders() =>
        string.Join(", ", ProviderRegistry.BuiltIns.Where(b => b.DefaultUsageUrl is not null).Select(b => b.Name));

    /// <summary>Checks a new provider's name, family and auth style; true when it is so wrong that nothing else is worth checking.</summary>
    private static bool ValidateNewDefinition(List<string> failures, string key, string name, ProviderOptions options)
    {
        if (options.Family is null)
        {
            failures.Add($"{key} is not a built-in provider ({string.Join(", ", ProviderRegistry.BuiltIns.Select(b => b.Name))}); set {key}:Family to anthropic or openai to define it.");
            return true;
        }
        if (!IsValidName(name))
        {
            failures.Add($"{key}: a provider name must be 1 to {MaxNameLength} lower-case letters, digits and '-', starting with a letter or digit (was '{name}').");
        }
        else if (string.Equals(name, ProviderRegistry.ReservedName, StringComparison.Ordinal))
        {
            failures.Add($"{key}: the name '{name}' is taken by the compatibility routes (/v1/{name}/...); choose another.");
        }
        if (ProviderFamilies.Parse(options.Family) is null)
        {
            failures.Add($"{key}:Family '{options.Family}' is not a provider family; use anthropic or openai.");
        }
        if (string.IsNullOrWhiteSpace(options.BaseUrl))
        {
            failures.Add($"{key}:BaseUrl is required for a provider defined by configuration.");
        }
        if (options.Auth is not null && ApiKeyStyles.Parse(options.Auth) is null)
        {
            failures.Add($"{key}:Auth '{options.Auth}' is not supported; use {ApiKeyStyles.XApiKey} or {ApiKeyStyles.Bearer}.");
        }
        if (options.AuthorizeUrl is not null || options.TokenUrl is not null || options.ClientId is not null || options.RedirectUri is not null || options.Scopes is not null)
        {
            failures.Add($"{key}: OAuth settings apply only to the built-in OAuth providers; a provider defined by configuration uses API keys.");
        }
        if (options.UsageUrl is not null)
        {
            failures.Add($"{key}:UsageUrl applies only to providers whose OAuth accounts have a usage endpoint ({UsagePollingProviders()}); a provider defined by configuration uses API keys.");
        }
        return false;
    }

    private static void ValidateExtraHeaders(List<string> failures, string key, ProviderOptions options)
    {
        foreach (var (header, value) in options.ExtraHeaders)
        {
            if (string.IsNullOrWhiteSpace(header) || header.AsSpan().IndexOfAny(" \t\r\n:") >= 0 || !Proxy.HeaderRules.ForwardRequestHeader(header))
            {
                failures.Add($"{key}:ExtraHeaders:{header} is not a header Ccflare can add (invalid, hop-by-hop or a credential header).");
            }
            else if (value is null || value.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                failures.Add($"{key}:ExtraHeaders:{header} must be a single-line value.");
            }
        }
    }

    public static bool IsValidName(string name)
    {
        if (name.Length is 0 or > MaxNameLength || name[0] == '-')
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                return false;
            }
        }
        return true;
    }

    private static void CheckUrl(List<string> failures, string key, string? value)
    {
        if (value is not null && !UrlRules.IsHttpUrl(value))
        {
            failures.Add($"{key} must be an absolute http or https URL (was '{value}').");
        }
    }
}
