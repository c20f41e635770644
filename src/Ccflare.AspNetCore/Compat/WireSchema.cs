namespace Ccflare.Compat;

/// <summary>The three request/response schemas Ccflare translates between.</summary>
internal enum WireSchema
{
    /// <summary>Anthropic Messages (<c>/v1/messages</c>).</summary>
    Messages,

    /// <summary>OpenAI Chat Completions (<c>/chat/completions</c>).</summary>
    Chat,

    /// <summary>OpenAI Responses (<c>/responses</c>).</summary>
    Responses,
}

internal static class WireSchemas
{
    /// <summary>The upstream path, relative to the provider's base URL.</summary>
    public static string PathFor(WireSchema schema) => schema switch
    {
        WireSchema.Messages => "/v1/messages",
        WireSchema.Chat => "/chat/completions",
        _ => "/responses",
    };

    public static bool IsOpenAI(this WireSchema schema) => schema != WireSchema.Messages;

    /// <summary>The provider family whose API the schema belongs to.</summary>
    public static Providers.ProviderFamily Family(this WireSchema schema) =>
        schema == WireSchema.Messages ? Providers.ProviderFamily.Anthropic : Providers.ProviderFamily.OpenAI;
}
