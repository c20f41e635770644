using System.Buffers;
using System.Text.Json;

namespace Ccflare.Compat.Translation;

/// <summary>Plain (non-streaming) response and error translation between the three schemas.</summary>
internal static class ResponseTranslator
{
    public static string ChatFinishReason(string? anthropicStopReason) => anthropicStopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };

    public static string AnthropicStopReason(string? chatFinishReason) => chatFinishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };

    /// <summary>Anthropic Message -> Chat Completion.</summary>
    public static void MessagesToChat(JsonElement message, long created, IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions);
        w.WriteStartObject();
        w.WriteString("id", message.Str("id") ?? "msg");
        w.WriteString("object", "chat.completion");
        w.WriteNumber("created", created);
        w.WriteString("model", message.Str("model") ?? string.Empty);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        string? text = null;
        string? reasoning = null;
        var hasTools = false;
        message.TryArr("content", out var content);
        if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (var block in content.EnumerateArray())
            {
                switch (block.Str("type"))
                {
                    case "text":
                        text = text is null ? block.Str("text") : string.Concat(text, block.Str("text"));
                        break;
                    case "thinking":
                        reasoning = reasoning is null ? block.Str("thinking") : string.Concat(reasoning, block.Str("thinking"));
                        break;
                    case "tool_use":
                        hasTools = true;
                        break;
                }
            }
        }
        if (text is null)
        {
            w.WriteNull("content");
        }
        else
        {
            w.WriteString("content", text);
        }
        w.WriteNull("refusal");
        if (reasoning is not null)
        {
            w.WriteString("reasoning_content", reasoning);
        }
        if (hasTools)
        {
            RequestTranslator.WriteChatToolCalls(w, content);
        }
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", ChatFinishReason(message.Str("stop_reason")));
        w.WriteEndObject();
        w.WriteEndArray();
        if (message.TryObj("usage", out var usage))
        {
            WriteChatUsage(w, usage);
        }
        w.WriteEndObject();
    }

    /// <summary>Writes Chat <c>usage</c> from an Anthropic usage object (input counts include cache reads and writes).</summary>
    public static void WriteChatUsage(Utf8JsonWriter w, JsonElement usage) =>
        WriteChatUsage(w, AnthropicUsage.From(usage));

    public static void WriteChatUsage(Utf8JsonWriter w, AnthropicUsage usage)
    {
        var prompt = usage.Input + usage.CacheRead + usage.CacheCreation;
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("completion_tokens", usage.Output);
        w.WriteNumber("total_tokens", prompt + usage.Output);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", usage.CacheRead);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteResponsesUsage(Utf8JsonWriter w, AnthropicUsage usage)
    {
        var input = usage.Input + usage.CacheRead + usage.CacheCreation;
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", input);
        w.WriteStartObject("input_tokens_details");
        w.WriteNumber("cached_tokens", usage.CacheRead);
        w.WriteEndObject();
        w.WriteNumber("output_tokens", usage.Output);
        w.WriteStartObject("output_tokens_details");
        w.WriteNumber("reasoning_tokens", 0);
        w.WriteEndObject();
        w.WriteNumber("total_tokens", input + usage.Output);
        w.WriteEndObject();
    }

    public static void WriteAnthropicUsage(Utf8JsonWriter w, AnthropicUsage usage)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", usage.Input);
        w.WriteNumber("cache_creation_input_tokens", usage.CacheCreation);
        w.WriteNumber("cache_read_input_tokens", usage.CacheRead);
        w.WriteNumber("output_tokens", usage.Output);
        w.WriteEndObject();
    }

    /// <summary>Anthropic Message -> Responses object.</summary>
    public static void MessagesToResponses(JsonElement message, long created, IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions);
        var id = message.Str("id") ?? "msg";
        var stopReason = message.Str("stop_reason");
        w.WriteStartObject();
        w.WriteString("id", "resp_" + id);
        w.WriteString("object", "response");
        w.WriteNumber("created_at", created);
        WriteResponsesStatus(w, stopReason);
        w.WriteString("model", message.Str("model") ?? string.Empty);
        w.WriteStartArray("output");
        if (message.TryArr("content", out var content))
        {
            var index = 0;
            var textOpen = false;
            foreach (var block in content.EnumerateArray())
            {
                var type = block.Str("type");
                if (type == "text")
                {
                    if (!textOpen)
                    {
                        w.WriteStartObject();
                        w.WriteString("type", "message");
                        w.WriteString("id", id);
                        w.WriteString("status", "completed");
                        w.WriteString("role", "assistant");
                        w.WriteStartArray("content");
                        textOpen = true;
                    }
                    w.WriteStartObject();
                    w.WriteString("type", "output_text");
                    w.WriteString("text", block.Str("text") ?? string.Empty);
                    w.WriteStartArray("annotations");
                    w.WriteEndArray();
                    w.WriteEndObject();
                    continue;
                }
                if (textOpen)
                {
                    w.WriteEndArray();
                    w.WriteEndObject();
                    textOpen = false;
                }
                if (type == "thinking")
                {
                    w.WriteStartObject();
                    w.WriteString("type", "reasoning");
                    w.WriteString("id", string.Concat("rs_", id, "_", index.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    w.WriteStartArray("summary");
                    w.WriteStartObject();
                    w.WriteString("type", "summary_text");
                    w.WriteString("text", block.Str("thinking") ?? string.Empty);
                    w.WriteEndObject();
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                else if (type == "tool_use")
                {
                    var callId = block.Str("id") ?? string.Empty;
                    w.WriteStartObject();
                    w.WriteString("type", "function_call");
                    w.WriteString("id", "fc_" + callId);
                    w.WriteString("call_id", callId);
                    w.WriteString("name", block.Str("name") ?? string.Empty);
                    w.WriteString("arguments", J.ToJsonText(block.TryProp("input", out var input) ? input : default));
                    w.WriteString("status", "completed");
                    w.WriteEndObject();
                }
                index++;
            }
            if (textOpen)
            {
                w.WriteEndArray();
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
        w.WriteBoolean("parallel_tool_calls", true);
        w.WriteString("tool_choice", "auto");
        w.WriteStartArray("tools");
        w.WriteEndArray();
        WriteResponsesUsage(w, message.TryObj("usage", out var usage) ? AnthropicUsage.From(usage) : default);
        w.WriteEndObject();
    }

    /// <summary>Writes <c>status</c> and <c>incomplete_details</c> of a Responses object for an Anthropic stop reason.</summary>
    public static void WriteResponsesStatus(Utf8JsonWriter w, string? stopReason)
    {
        if (stopReason is "max_tokens" or "model_context_window_exceeded")
        {
            w.WriteString("status", "incomplete");
            w.WriteStartObject("incomplete_details");
            w.WriteString("reason", "max_output_tokens");
            w.WriteEndObject();
        }
        else if (stopReason == "refusal")
        {
            w.WriteString("status", "incomplete");
            w.WriteStartObject("incomplete_details");
            w.WriteString("reason", "content_filter");
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("status", "completed");
            w.WriteNull("incomplete_details");
        }
    }

    /// <summary>Chat Completion -> Anthropic Message.</summary>
    public static void ChatToMessages(JsonElement completion, IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions);
        w.WriteStartObject();
        WriteMessageHead(w, completion.Str("id") ?? "chatcmpl", completion.Str("model") ?? string.Empty);
        string? finish = null;
        if (completion.TryArr("choices", out var choices))
        {
            foreach (var choice in choices.EnumerateArray())
            {
                finish = choice.Str("finish_reason");
                if (!choice.TryObj("message", out var message))
                {
                    break;
                }
                if (message.Str("reasoning_content") is { Length: > 0 } reasoning)
                {
                    WriteThinkingBlock(w, reasoning);
                }
                var text = message.Str("content") ?? message.Str("refusal");
                if (!string.IsNullOrEmpty(text))
                {
                    WriteTextBlock(w, text);
                }
                if (message.TryArr("tool_calls", out var calls))
                {
                    foreach (var call in calls.EnumerateArray())
                    {
                        call.TryObj("function", out var function);
                        WriteToolUseBlock(w, call.Str("id"), function.Str("name"), function.Str("arguments"));
                    }
                }
                break;
            }
        }
        WriteMessageTail(w, AnthropicStopReason(finish), completion.TryObj("usage", out var usage) ? AnthropicUsage.FromOpenAI(usage) : default);
        w.WriteEndObject();
    }

    /// <summary>Responses object -> Anthropic Message.</summary>
    public static void ResponsesToMessages(JsonElement response, IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions);
        w.WriteStartObject();
        WriteMessageHead(w, response.Str("id") ?? "resp", response.Str("model") ?? string.Empty);
        var sawTool = false;
        if (response.TryArr("output", out var items))
        {
            foreach (var item in items.EnumerateArray())
            {
                switch (item.Str("type"))
                {
                    case "reasoning":
                        var summary = item.TryArr("summary", out var parts) ? J.TextOf(parts) : string.Empty;
                        if (summary.Length > 0)
                        {
                            WriteThinkingBlock(w, summary);
                        }
                        break;
                    case "message":
                        if (item.TryArr("content", out var content))
                        {
                            foreach (var part in content.EnumerateArray())
                            {
                                var text = part.Str("type") == "refusal" ? part.Str("refusal") : part.Str("text");
                                if (!string.IsNullOrEmpty(text))
                                {
                                    WriteTextBlock(w, text);
                                }
                            }
                        }
                        break;
                    case "function_call":
                        sawTool = true;
                        WriteToolUseBlock(w, item.Str("call_id"), item.Str("name"), item.Str("arguments"));
                        break;
                }
            }
        }
        WriteMessageTail(w, ResponsesStopReason(response, sawTool), response.TryObj("usage", out var usage) ? AnthropicUsage.FromOpenAI(usage) : default);
        w.WriteEndObject();
    }

    public static string ResponsesStopReason(JsonElement response, bool sawTool)
    {
        if (sawTool)
        {
            return "tool_use";
        }
        if (response.Str("status") == "incomplete")
        {
            var reason = response.TryObj("incomplete_details", out var details) ? details.Str("reason") : null;
            return reason == "content_filter" ? "refusal" : "max_tokens";
        }
        return "end_turn";
    }

    /// <summary>
    /// Opens an Anthropic Message (inside its already started object) up to the content array:
    /// <c>id</c>, <c>type</c>, <c>role</c>, <c>model</c>, <c>content: [</c>.
    /// </summary>
    public static void WriteMessageHead(Utf8JsonWriter w, string id, string model)
    {
        w.WriteString("id", id);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", model);
        w.WriteStartArray("content");
    }

    /// <summary>Closes the content array opened by <see cref="WriteMessageHead"/>: stop reason, stop sequence (none) and usage.</summary>
    public static void WriteMessageTail(Utf8JsonWriter w, string? stopReason, AnthropicUsage usage)
    {
        w.WriteEndArray();
        if (stopReason is null)
        {
            w.WriteNull("stop_reason");
        }
        else
        {
            w.WriteString("stop_reason", stopReason);
        }
        w.WriteNull("stop_sequence");
        WriteAnthropicUsage(w, usage);
    }

    public static void WriteTextBlock(Utf8JsonWriter w, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", "text");
        w.WriteString("text", text);
        w.WriteEndObject();
    }

    public static void WriteThinkingBlock(Utf8JsonWriter w, string thinking)
    {
        w.WriteStartObject();
        w.WriteString("type", "thinking");
        w.WriteString("thinking", thinking);
        w.WriteString("signature", string.Empty);
        w.WriteEndObject();
    }

    public static void WriteToolUseBlock(Utf8JsonWriter w, string? id, string? name, string? arguments)
    {
        w.WriteStartObject();
        w.WriteString("type", "tool_use");
        w.WriteString("id", id ?? string.Empty);
        w.WriteString("name", name ?? string.Empty);
        w.WritePropertyName("input");
        J.WriteJsonText(w, arguments);
        w.WriteEndObject();
    }

    // ---------------------------------------------------------------- errors

    /// <summary>Any upstream error body -> the Anthropic error shape.</summary>
    public static void ErrorToAnthropic(int status, ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        var (type, message) = ReadError(status, body);
        using var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions);
        w.WriteStartObject();
        w.WriteString("type", "error");
        w.WriteStartObject("error");
        w.WriteString("type", AnthropicErrorType(status, type));
        w.WriteString("message", message);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Any upstream error body -> the OpenAI error shape.</summary>
    public static void ErrorToOpenAI(int status, ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        var (type, message) = ReadError(status, body);
        using var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions);
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", message);
        w.WriteString("type", type ?? OpenAIErrorType(status));
        w.WriteNull("param");
        w.WriteNull("code");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Reads type and message from Anthropic (<c>{"type":"error","error":{…}}</c>), OpenAI (<c>{"error":{…}}</c>) or Ccflare (<c>{"error":"…"}</c>) bodies.</summary>
    public static (string? Type, string Message) ReadError(int status, ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.TryObj("error", out var error))
            {
                return (error.Str("type") ?? error.Str("code"), error.Str("message") ?? $"Upstream answered {status}");
            }
            if (root.Str("error") is { } text)
            {
                return (null, text);
            }
            if (root.Str("detail") is { } detail)
            {
                return (null, detail);
            }
        }
        catch (JsonException)
        {
            // Not JSON: use the text itself.
        }
        var raw = System.Text.Encoding.UTF8.GetString(body.Length > 1024 ? body[..1024] : body).Trim();
        return (null, raw.Length > 0 ? raw : $"Upstream answered {status}");
    }

    private static string AnthropicErrorType(int status, string? upstreamType) => upstreamType switch
    {
        "invalid_request_error" or "authentication_error" or "permission_error" or "not_found_error"
            or "request_too_large" or "rate_limit_error" or "api_error" or "overloaded_error" => upstreamType,
        _ => status switch
        {
            400 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            _ => "api_error",
        },
    };

    private static string OpenAIErrorType(int status) => status switch
    {
        400 or 404 or 413 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_exceeded",
        _ => "server_error",
    };
}

/// <summary>Token counts in Anthropic's terms: <see cref="Input"/> excludes cache reads and writes.</summary>
internal readonly record struct AnthropicUsage(long Input, long Output, long CacheRead, long CacheCreation)
{
    public static AnthropicUsage From(JsonElement usage) => new(
        usage.Long("input_tokens") ?? 0,
        usage.Long("output_tokens") ?? 0,
        usage.Long("cache_read_input_tokens") ?? 0,
        usage.Long("cache_creation_input_tokens") ?? 0);

    /// <summary>Overrides the counts present in a <c>message_delta</c> usage (they are cumulative).</summary>
    public AnthropicUsage Merge(JsonElement usage) => new(
        usage.Long("input_tokens") ?? Input,
        usage.Long("output_tokens") ?? Output,
        usage.Long("cache_read_input_tokens") ?? CacheRead,
        usage.Long("cache_creation_input_tokens") ?? CacheCreation);

    /// <summary>From Chat (<c>prompt_tokens</c>) or Responses (<c>input_tokens</c>) usage, where input includes cached tokens.</summary>
    public static AnthropicUsage FromOpenAI(JsonElement usage)
    {
        var input = usage.Long("prompt_tokens") ?? usage.Long("input_tokens") ?? 0;
        var output = usage.Long("completion_tokens") ?? usage.Long("output_tokens") ?? 0;
        var cached = (usage.TryObj("prompt_tokens_details", out var details) || usage.TryObj("input_tokens_details", out details)) ? details.Long("cached_tokens") ?? 0 : 0;
        return new AnthropicUsage(Math.Max(0, input - cached), output, cached, 0);
    }
}
