namespace Ccflare.Usage;

/// <summary>
/// Token usage and identity read from one response body. Every field is null when the body
/// did not carry it. Token fields follow ccflare's columns: <see cref="InputTokens"/> is the
/// uncached input, <see cref="PromptTokens"/> is all input (uncached + cache read + cache write).
/// </summary>
internal sealed record UsageInfo
{
    public static readonly UsageInfo Empty = new();

    public long? InputTokens { get; init; }

    public long? OutputTokens { get; init; }

    public long? CacheReadInputTokens { get; init; }

    public long? CacheCreationInputTokens { get; init; }

    public long? ReasoningTokens { get; init; }

    public long? PromptTokens { get; init; }

    public long? CompletionTokens { get; init; }

    public long? TotalTokens { get; init; }

    public string? ResponseId { get; init; }

    public string? Model { get; init; }

    /// <summary>Which wire format the body was recognised as.</summary>
    public UsageFormat Format { get; init; }

    public bool HasTokens => PromptTokens is not null || CompletionTokens is not null;
}

/// <summary>The response format a body was recognised as.</summary>
internal enum UsageFormat
{
    Unknown,
    AnthropicMessages,
    OpenAIChatCompletions,
    OpenAIResponses,
}
