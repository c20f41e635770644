using System.Buffers;
using System.Text.Json;

namespace Ccflare.Compat.Translation;

/// <summary>
/// Request translation between Anthropic Messages, OpenAI Chat Completions and OpenAI Responses.
/// Pure functions from a parsed client body to the upstream body's bytes.
/// </summary>
internal static class RequestTranslator
{
    /// <summary>Anthropic requires max_tokens; used when the client sent none.</summary>
    public const int DefaultMaxTokens = 4096;

    /// <summary>Rewrites the top-level <c>model</c> string, leaving every other byte as sent.</summary>
    public static byte[] RewriteModel(ReadOnlySpan<byte> json, string model)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return json.ToArray();
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }
            var isModel = reader.ValueTextEquals("model"u8);
            reader.Read();
            if (isModel && reader.TokenType == JsonTokenType.String)
            {
                var start = (int)reader.TokenStartIndex;
                var end = start + reader.ValueSpan.Length + 2;
                var encoded = JsonEncodedText.Encode(model, TranslationJson.WriterOptions.Encoder).EncodedUtf8Bytes;
                var result = new byte[json.Length - (end - start) + encoded.Length + 2];
                json[..start].CopyTo(result);
                result[start] = (byte)'"';
                encoded.CopyTo(result.AsSpan(start + 1));
                result[start + 1 + encoded.Length] = (byte)'"';
                json[end..].CopyTo(result.AsSpan(start + 2 + encoded.Length));
                return result;
            }
            reader.TrySkip();
        }
        return json.ToArray();
    }

    // ---------------------------------------------------------------- OpenAI -> Anthropic

    /// <summary>OpenAI Chat Completions request -> Anthropic Messages request.</summary>
    public static byte[] ChatToMessages(JsonElement chat, string model)
    {
        var output = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            var maxTokens = chat.Long("max_completion_tokens") ?? chat.Long("max_tokens");
            var budget = ForcesTool(chat) ? null : BudgetForEffort(chat.Str("reasoning_effort"));
            WriteMaxTokensAndThinking(w, maxTokens, budget);

            var system = new List<string>();
            var turns = new AnthropicTurns(w);
            if (chat.TryArr("messages", out var messages))
            {
                foreach (var message in messages.EnumerateArray())
                {
                    var role = message.Str("role");
                    message.TryProp("content", out var content);
                    switch (role)
                    {
                        case "system":
                        case "developer":
                            system.Add(J.TextOf(content));
                            break;
                        case "user":
                            turns.Open("user");
                            WriteChatUserParts(w, content);
                            break;
                        case "assistant":
                            turns.Open("assistant");
                            // reasoning_content is dropped: Anthropic rejects thinking blocks without their signature.
                            var text = J.TextOf(content);
                            if (text.Length > 0)
                            {
                                ResponseTranslator.WriteTextBlock(w, text);
                            }
                            if (message.TryArr("tool_calls", out var calls))
                            {
                                foreach (var call in calls.EnumerateArray())
                                {
                                    call.TryObj("function", out var function);
                                    ResponseTranslator.WriteToolUseBlock(w, call.Str("id"), function.Str("name"), function.Str("arguments"));
                                }
                            }
                            break;
                        case "tool":
                        case "function":
                            turns.Open("user");
                            WriteToolResult(w, message.Str("tool_call_id") ?? message.Str("name") ?? string.Empty, J.TextOf(content), isError: false);
                            break;
                    }
                }
            }
            turns.Close();
            // Messages were written before system is known: Anthropic accepts fields in any order.
            WriteSystem(w, system);

            if (chat.TryArr("tools", out var tools))
            {
                w.WriteStartArray("tools");
                foreach (var tool in tools.EnumerateArray())
                {
                    if (!tool.TryObj("function", out var function))
                    {
                        continue;
                    }
                    WriteAnthropicTool(w, function.Str("name"), function.Str("description"), function.TryProp("parameters", out var p) ? p : default);
                }
                w.WriteEndArray();
            }
            WriteAnthropicToolChoice(w, chat.TryProp("tool_choice", out var choice) ? choice : default, chat.Bool("parallel_tool_calls"), static c => c.TryObj("function", out var f) ? f.Str("name") : null);

            WriteSampling(w, chat, budget is not null);
            if (chat.TryProp("stop", out var stop))
            {
                WriteStopSequences(w, stop);
            }
            if (chat.Bool("stream") == true)
            {
                w.WriteBoolean("stream", true);
            }
            WriteAnthropicMetadata(w, chat);
            w.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }

    /// <summary>OpenAI Responses request -> Anthropic Messages request.</summary>
    public static byte[] ResponsesToMessages(JsonElement request, string model)
    {
        var output = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            request.TryObj("reasoning", out var reasoning);
            var budget = ForcesTool(request) ? null : BudgetForEffort(reasoning.Str("effort"));
            WriteMaxTokensAndThinking(w, request.Long("max_output_tokens"), budget);

            var system = new List<string>();
            if (request.Str("instructions") is { Length: > 0 } instructions)
            {
                system.Add(instructions);
            }
            var turns = new AnthropicTurns(w);
            if (request.TryProp("input", out var input))
            {
                if (input.ValueKind == JsonValueKind.String)
                {
                    turns.Open("user");
                    ResponseTranslator.WriteTextBlock(w, input.GetString() ?? string.Empty);
                }
                else if (input.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in input.EnumerateArray())
                    {
                        var type = item.Str("type") ?? (item.Str("role") is not null ? "message" : null);
                        switch (type)
                        {
                            case "message":
                                item.TryProp("content", out var content);
                                var role = item.Str("role");
                                if (role is "system" or "developer")
                                {
                                    system.Add(J.TextOf(content));
                                    break;
                                }
                                turns.Open(role == "assistant" ? "assistant" : "user");
                                WriteResponsesParts(w, content);
                                break;
                            case "function_call":
                                turns.Open("assistant");
                                ResponseTranslator.WriteToolUseBlock(w, item.Str("call_id") ?? item.Str("id"), item.Str("name"), item.Str("arguments"));
                                break;
                            case "function_call_output":
                                turns.Open("user");
                                item.TryProp("output", out var result);
                                WriteToolResult(w, item.Str("call_id") ?? string.Empty, J.TextOf(result), isError: false);
                                break;
                        }
                    }
                }
            }
            turns.Close();
            WriteSystem(w, system);

            if (request.TryArr("tools", out var tools))
            {
                w.WriteStartArray("tools");
                foreach (var tool in tools.EnumerateArray())
                {
                    if (tool.Str("type") != "function")
                    {
                        continue;
                    }
                    WriteAnthropicTool(w, tool.Str("name"), tool.Str("description"), tool.TryProp("parameters", out var p) ? p : default);
                }
                w.WriteEndArray();
            }
            WriteAnthropicToolChoice(w, request.TryProp("tool_choice", out var choice) ? choice : default, request.Bool("parallel_tool_calls"), static c => c.Str("name"));
            WriteSampling(w, request, budget is not null);
            if (request.Bool("stream") == true)
            {
                w.WriteBoolean("stream", true);
            }
            WriteAnthropicMetadata(w, request);
            w.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }

    // ---------------------------------------------------------------- Anthropic -> OpenAI

    /// <summary>Anthropic Messages request -> OpenAI Chat Completions request.</summary>
    public static byte[] MessagesToChat(JsonElement request, string model)
    {
        var output = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteStartArray("messages");
            if (request.TryProp("system", out var system))
            {
                var text = J.TextOf(system);
                if (text.Length > 0)
                {
                    w.WriteStartObject();
                    w.WriteString("role", "system");
                    w.WriteString("content", text);
                    w.WriteEndObject();
                }
            }
            if (request.TryArr("messages", out var messages))
            {
                foreach (var message in messages.EnumerateArray())
                {
                    message.TryProp("content", out var content);
                    if (message.Str("role") == "assistant")
                    {
                        WriteChatAssistant(w, content);
                    }
                    else
                    {
                        WriteChatUser(w, content);
                    }
                }
            }
            w.WriteEndArray();

            WriteOpenAITools(w, request, chatShape: true);
            WriteOpenAIToolChoice(w, request, chatShape: true);
            if (request.Long("max_tokens") is { } maxTokens)
            {
                w.WriteNumber("max_completion_tokens", maxTokens);
            }
            request.CopyScalar("temperature", w, "temperature");
            request.CopyScalar("top_p", w, "top_p");
            if (request.TryArr("stop_sequences", out var stops) && stops.GetArrayLength() > 0)
            {
                w.WritePropertyName("stop");
                stops.WriteTo(w);
            }
            if (EffortForThinking(request) is { } effort)
            {
                w.WriteString("reasoning_effort", effort);
            }
            if (request.Bool("stream") == true)
            {
                w.WriteBoolean("stream", true);
                w.WriteStartObject("stream_options");
                w.WriteBoolean("include_usage", true);
                w.WriteEndObject();
            }
            WriteOpenAIUser(w, request);
            w.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Anthropic Messages request -> OpenAI Responses request. For the Codex backend
    /// (<paramref name="streamingUnstored"/>) sampling and token limits are dropped, storage is off and the
    /// call always streams, as that backend requires.
    /// </summary>
    public static byte[] MessagesToResponses(JsonElement request, string model, bool streamingUnstored)
    {
        var output = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(output, TranslationJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            if (request.TryProp("system", out var system) && J.TextOf(system) is { Length: > 0 } instructions)
            {
                w.WriteString("instructions", instructions);
            }
            w.WriteStartArray("input");
            if (request.TryArr("messages", out var messages))
            {
                foreach (var message in messages.EnumerateArray())
                {
                    message.TryProp("content", out var content);
                    WriteResponsesItems(w, message.Str("role") == "assistant" ? "assistant" : "user", content);
                }
            }
            w.WriteEndArray();

            WriteOpenAITools(w, request, chatShape: false);
            WriteOpenAIToolChoice(w, request, chatShape: false);
            if (EffortForThinking(request) is { } effort)
            {
                w.WriteStartObject("reasoning");
                w.WriteString("effort", effort);
                w.WriteString("summary", "auto");
                w.WriteEndObject();
            }
            if (streamingUnstored)
            {
                w.WriteBoolean("store", false);
                w.WriteBoolean("stream", true);
            }
            else
            {
                if (request.Long("max_tokens") is { } maxTokens)
                {
                    w.WriteNumber("max_output_tokens", maxTokens);
                }
                request.CopyScalar("temperature", w, "temperature");
                request.CopyScalar("top_p", w, "top_p");
                if (request.Bool("stream") == true)
                {
                    w.WriteBoolean("stream", true);
                }
                WriteOpenAIUser(w, request);
            }
            w.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }

    // ---------------------------------------------------------------- shared pieces

    /// <summary>Maps an OpenAI reasoning effort to an Anthropic thinking budget.</summary>
    public static int? BudgetForEffort(string? effort) => effort switch
    {
        "minimal" or "low" => 1024,
        "medium" => 8192,
        "high" => 24576,
        _ => null,
    };

    /// <summary>Maps an Anthropic thinking budget to an OpenAI reasoning effort.</summary>
    public static string? EffortForThinking(JsonElement request)
    {
        if (!request.TryObj("thinking", out var thinking) || thinking.Str("type") != "enabled")
        {
            return null;
        }
        var budget = thinking.Long("budget_tokens") ?? 0;
        return budget switch
        {
            < 4096 => "low",
            < 16384 => "medium",
            _ => "high",
        };
    }

    /// <summary>Anthropic refuses thinking together with a forced tool; the forced tool wins.</summary>
    private static bool ForcesTool(JsonElement request) =>
        request.TryProp("tool_choice", out var choice)
        && (choice.ValueKind == JsonValueKind.Object || (choice.ValueKind == JsonValueKind.String && choice.GetString() == "required"));

    /// <summary>Anthropic only accepts the default temperature and top_p while thinking; they are dropped then.</summary>
    private static void WriteSampling(Utf8JsonWriter w, JsonElement request, bool thinking)
    {
        if (thinking)
        {
            return;
        }
        request.CopyScalar("temperature", w, "temperature");
        request.CopyScalar("top_p", w, "top_p");
    }

    private static void WriteMaxTokensAndThinking(Utf8JsonWriter w, long? maxTokens, int? budget)
    {
        var max = maxTokens ?? DefaultMaxTokens;
        if (budget is { } tokens)
        {
            // Anthropic needs max_tokens above the thinking budget; the client's limit is for the answer.
            if (max <= tokens)
            {
                max += tokens;
            }
            w.WriteNumber("max_tokens", max);
            w.WriteStartObject("thinking");
            w.WriteString("type", "enabled");
            w.WriteNumber("budget_tokens", tokens);
            w.WriteEndObject();
            return;
        }
        w.WriteNumber("max_tokens", max);
    }

    private static void WriteSystem(Utf8JsonWriter w, List<string> system)
    {
        var any = false;
        foreach (var text in system)
        {
            if (text.Length == 0)
            {
                continue;
            }
            if (!any)
            {
                w.WriteStartArray("system");
                any = true;
            }
            ResponseTranslator.WriteTextBlock(w, text);
        }
        if (any)
        {
            w.WriteEndArray();
        }
    }

    private static void WriteToolResult(Utf8JsonWriter w, string toolUseId, string text, bool isError)
    {
        w.WriteStartObject();
        w.WriteString("type", "tool_result");
        w.WriteString("tool_use_id", toolUseId);
        w.WriteString("content", text);
        if (isError)
        {
            w.WriteBoolean("is_error", true);
        }
        w.WriteEndObject();
    }

    /// <summary>An image from a URL: data URLs become base64 sources, others URL sources.</summary>
    private static void WriteImageBlock(Utf8JsonWriter w, string url)
    {
        w.WriteStartObject();
        w.WriteString("type", "image");
        w.WriteStartObject("source");
        if (url.StartsWith("data:", StringComparison.Ordinal) && url.IndexOf(";base64,", StringComparison.Ordinal) is var marker and > 5)
        {
            w.WriteString("type", "base64");
            w.WriteString("media_type", url.AsSpan(5, marker - 5));
            w.WriteString("data", url.AsSpan(marker + 8));
        }
        else
        {
            w.WriteString("type", "url");
            w.WriteString("url", url);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteChatUserParts(Utf8JsonWriter w, JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            ResponseTranslator.WriteTextBlock(w, content.GetString() ?? string.Empty);
            return;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        foreach (var part in content.EnumerateArray())
        {
            switch (part.Str("type"))
            {
                case "text":
                    ResponseTranslator.WriteTextBlock(w, part.Str("text") ?? string.Empty);
                    break;
                case "image_url":
                    var url = part.TryObj("image_url", out var image) ? image.Str("url") : part.Str("image_url");
                    if (url is not null)
                    {
                        WriteImageBlock(w, url);
                    }
                    break;
            }
        }
    }

    private static void WriteResponsesParts(Utf8JsonWriter w, JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            ResponseTranslator.WriteTextBlock(w, content.GetString() ?? string.Empty);
            return;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        foreach (var part in content.EnumerateArray())
        {
            switch (part.Str("type"))
            {
                case "input_text":
                case "output_text":
                case "text":
                    ResponseTranslator.WriteTextBlock(w, part.Str("text") ?? string.Empty);
                    break;
                case "refusal":
                    ResponseTranslator.WriteTextBlock(w, part.Str("refusal") ?? string.Empty);
                    break;
                case "input_image":
                    if (part.Str("image_url") is { } url)
                    {
                        WriteImageBlock(w, url);
                    }
                    break;
            }
        }
    }

    private static void WriteAnthropicTool(Utf8JsonWriter w, string? name, string? description, JsonElement parameters)
    {
        w.WriteStartObject();
        w.WriteString("name", name ?? string.Empty);
        if (description is not null)
        {
            w.WriteString("description", description);
        }
        w.WritePropertyName("input_schema");
        if (parameters.ValueKind == JsonValueKind.Object)
        {
            parameters.WriteTo(w);
        }
        else
        {
            w.WriteStartObject();
            w.WriteString("type", "object");
            w.WriteStartObject("properties");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteAnthropicToolChoice(Utf8JsonWriter w, JsonElement choice, bool? parallel, Func<JsonElement, string?> functionName)
    {
        var disableParallel = parallel == false;
        string? type = null;
        string? name = null;
        if (choice.ValueKind == JsonValueKind.String)
        {
            type = choice.GetString() switch
            {
                "none" => "none",
                "required" => "any",
                "auto" => "auto",
                _ => null,
            };
        }
        else if (choice.ValueKind == JsonValueKind.Object && functionName(choice) is { } forced)
        {
            type = "tool";
            name = forced;
        }
        if (type is null && !disableParallel)
        {
            return;
        }
        w.WriteStartObject("tool_choice");
        w.WriteString("type", type ?? "auto");
        if (name is not null)
        {
            w.WriteString("name", name);
        }
        if (disableParallel && type != "none")
        {
            w.WriteBoolean("disable_parallel_tool_use", true);
        }
        w.WriteEndObject();
    }

    private static void WriteStopSequences(Utf8JsonWriter w, JsonElement stop)
    {
        if (stop.ValueKind == JsonValueKind.String)
        {
            w.WriteStartArray("stop_sequences");
            w.WriteStringValue(stop.GetString());
            w.WriteEndArray();
        }
        else if (stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() > 0)
        {
            w.WritePropertyName("stop_sequences");
            stop.WriteTo(w);
        }
    }

    private static void WriteAnthropicMetadata(Utf8JsonWriter w, JsonElement request)
    {
        var user = request.TryObj("metadata", out var metadata) ? metadata.Str("user_id") : null;
        user ??= request.Str("user") ?? request.Str("safety_identifier");
        if (user is null)
        {
            return;
        }
        w.WriteStartObject("metadata");
        w.WriteString("user_id", user);
        w.WriteEndObject();
    }

    /// <summary>Client (custom) tools have an input schema; server tools (web search…) have a versioned type.</summary>
    private static bool IsCustomTool(JsonElement tool)
    {
        var type = tool.Str("type");
        return type is null or "custom" && tool.Str("name") is not null;
    }

    private static void WriteSchema(Utf8JsonWriter w, JsonElement tool)
    {
        if (tool.TryObj("input_schema", out var schema))
        {
            schema.WriteTo(w);
        }
        else
        {
            w.WriteStartObject();
            w.WriteString("type", "object");
            w.WriteEndObject();
        }
    }

    /// <summary>
    /// Anthropic client tools -> OpenAI function tools: nested under <c>function</c> for Chat
    /// Completions (<paramref name="chatShape"/>), flat and non-strict for Responses.
    /// </summary>
    private static void WriteOpenAITools(Utf8JsonWriter w, JsonElement request, bool chatShape)
    {
        if (!request.TryArr("tools", out var tools))
        {
            return;
        }
        w.WriteStartArray("tools");
        foreach (var tool in tools.EnumerateArray())
        {
            if (!IsCustomTool(tool))
            {
                continue;
            }
            w.WriteStartObject();
            w.WriteString("type", "function");
            if (chatShape)
            {
                w.WriteStartObject("function");
            }
            w.WriteString("name", tool.Str("name") ?? string.Empty);
            if (tool.Str("description") is { } description)
            {
                w.WriteString("description", description);
            }
            w.WritePropertyName("parameters");
            WriteSchema(w, tool);
            if (chatShape)
            {
                w.WriteEndObject();
            }
            else
            {
                w.WriteBoolean("strict", false);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Anthropic <c>tool_choice</c> -> OpenAI <c>tool_choice</c> and <c>parallel_tool_calls</c>.</summary>
    private static void WriteOpenAIToolChoice(Utf8JsonWriter w, JsonElement request, bool chatShape)
    {
        if (!request.TryObj("tool_choice", out var choice))
        {
            return;
        }
        WriteOpenAIToolChoiceValue(w, choice, chatShape);
        if (choice.Bool("disable_parallel_tool_use") == true)
        {
            w.WriteBoolean("parallel_tool_calls", false);
        }
    }

    /// <summary>Anthropic <c>metadata.user_id</c> -> OpenAI <c>user</c>.</summary>
    private static void WriteOpenAIUser(Utf8JsonWriter w, JsonElement request)
    {
        if (request.TryObj("metadata", out var metadata) && metadata.Str("user_id") is { } user)
        {
            w.WriteString("user", user);
        }
    }

    private static void WriteOpenAIToolChoiceValue(Utf8JsonWriter w, JsonElement choice, bool chatShape)
    {
        switch (choice.Str("type"))
        {
            case "auto":
                w.WriteString("tool_choice", "auto");
                break;
            case "any":
                w.WriteString("tool_choice", "required");
                break;
            case "none":
                w.WriteString("tool_choice", "none");
                break;
            case "tool":
                w.WriteStartObject("tool_choice");
                w.WriteString("type", "function");
                if (chatShape)
                {
                    w.WriteStartObject("function");
                    w.WriteString("name", choice.Str("name") ?? string.Empty);
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteString("name", choice.Str("name") ?? string.Empty);
                }
                w.WriteEndObject();
                break;
        }
    }

    private static string ImageUrl(JsonElement block)
    {
        if (!block.TryObj("source", out var source))
        {
            return string.Empty;
        }
        return source.Str("type") == "base64"
            ? string.Concat("data:", source.Str("media_type") ?? "image/png", ";base64,", source.Str("data") ?? string.Empty)
            : source.Str("url") ?? string.Empty;
    }

    private static void WriteChatUser(Utf8JsonWriter w, JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            w.WriteStartObject();
            w.WriteString("role", "user");
            w.WriteString("content", content.GetString());
            w.WriteEndObject();
            return;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        // Tool results first: Chat wants them right after the assistant's tool calls.
        var other = 0;
        foreach (var block in content.EnumerateArray())
        {
            if (block.Str("type") == "tool_result")
            {
                block.TryProp("content", out var result);
                w.WriteStartObject();
                w.WriteString("role", "tool");
                w.WriteString("tool_call_id", block.Str("tool_use_id") ?? string.Empty);
                w.WriteString("content", J.TextOf(result));
                w.WriteEndObject();
            }
            else if (block.Str("type") is "text" or "image")
            {
                other++;
            }
        }
        if (other == 0)
        {
            return;
        }
        w.WriteStartObject();
        w.WriteString("role", "user");
        w.WriteStartArray("content");
        foreach (var block in content.EnumerateArray())
        {
            switch (block.Str("type"))
            {
                case "text":
                    w.WriteStartObject();
                    w.WriteString("type", "text");
                    w.WriteString("text", block.Str("text") ?? string.Empty);
                    w.WriteEndObject();
                    break;
                case "image":
                    w.WriteStartObject();
                    w.WriteString("type", "image_url");
                    w.WriteStartObject("image_url");
                    w.WriteString("url", ImageUrl(block));
                    w.WriteEndObject();
                    w.WriteEndObject();
                    break;
            }
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteChatAssistant(Utf8JsonWriter w, JsonElement content)
    {
        w.WriteStartObject();
        w.WriteString("role", "assistant");
        if (content.ValueKind == JsonValueKind.String)
        {
            w.WriteString("content", content.GetString());
            w.WriteEndObject();
            return;
        }
        var text = string.Empty;
        var hasTools = false;
        if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (var block in content.EnumerateArray())
            {
                var type = block.Str("type");
                if (type == "text")
                {
                    text = text.Length == 0 ? block.Str("text") ?? string.Empty : string.Concat(text, "\n", block.Str("text"));
                }
                else if (type == "tool_use")
                {
                    hasTools = true;
                }
            }
        }
        if (text.Length > 0 || !hasTools)
        {
            w.WriteString("content", text);
        }
        else
        {
            w.WriteNull("content");
        }
        if (hasTools)
        {
            WriteChatToolCalls(w, content);
        }
        w.WriteEndObject();
    }

    /// <summary>Anthropic <c>tool_use</c> blocks as an OpenAI Chat <c>tool_calls</c> array.</summary>
    internal static void WriteChatToolCalls(Utf8JsonWriter w, JsonElement content)
    {
        w.WriteStartArray("tool_calls");
        foreach (var block in content.EnumerateArray())
        {
            if (block.Str("type") != "tool_use")
            {
                continue;
            }
            w.WriteStartObject();
            w.WriteString("id", block.Str("id") ?? string.Empty);
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", block.Str("name") ?? string.Empty);
            w.WriteString("arguments", J.ToJsonText(block.TryProp("input", out var input) ? input : default));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteResponsesItems(Utf8JsonWriter w, string role, JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            w.WriteStartObject();
            w.WriteString("type", "message");
            w.WriteString("role", role);
            w.WriteStartArray("content");
            WriteResponsesText(w, role, content.GetString() ?? string.Empty);
            w.WriteEndArray();
            w.WriteEndObject();
            return;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        // Items keep the block order; consecutive text/image blocks share one message item.
        var messageOpen = false;
        foreach (var block in content.EnumerateArray())
        {
            var type = block.Str("type");
            if (type is "text" or "image")
            {
                if (!messageOpen)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "message");
                    w.WriteString("role", role);
                    w.WriteStartArray("content");
                    messageOpen = true;
                }
                if (type == "text")
                {
                    WriteResponsesText(w, role, block.Str("text") ?? string.Empty);
                }
                else
                {
                    w.WriteStartObject();
                    w.WriteString("type", "input_image");
                    w.WriteString("image_url", ImageUrl(block));
                    w.WriteEndObject();
                }
                continue;
            }
            if (type is not ("tool_use" or "tool_result"))
            {
                continue;
            }
            if (messageOpen)
            {
                w.WriteEndArray();
                w.WriteEndObject();
                messageOpen = false;
            }
            w.WriteStartObject();
            if (type == "tool_use")
            {
                w.WriteString("type", "function_call");
                w.WriteString("call_id", block.Str("id") ?? string.Empty);
                w.WriteString("name", block.Str("name") ?? string.Empty);
                w.WriteString("arguments", J.ToJsonText(block.TryProp("input", out var input) ? input : default));
            }
            else
            {
                block.TryProp("content", out var result);
                w.WriteString("type", "function_call_output");
                w.WriteString("call_id", block.Str("tool_use_id") ?? string.Empty);
                w.WriteString("output", J.TextOf(result));
            }
            w.WriteEndObject();
        }
        if (messageOpen)
        {
            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    private static void WriteResponsesText(Utf8JsonWriter w, string role, string text)
    {
        w.WriteStartObject();
        w.WriteString("type", role == "assistant" ? "output_text" : "input_text");
        w.WriteString("text", text);
        w.WriteEndObject();
    }

    /// <summary>Writes Anthropic messages, merging consecutive turns of the same role into one.</summary>
    private sealed class AnthropicTurns(Utf8JsonWriter w)
    {
        private string? _role;
        private bool _started;

        public void Open(string role)
        {
            if (!_started)
            {
                w.WriteStartArray("messages");
                _started = true;
            }
            if (_role == role)
            {
                return;
            }
            if (_role is not null)
            {
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteStartObject();
            w.WriteString("role", role);
            w.WriteStartArray("content");
            _role = role;
        }

        public void Close()
        {
            if (!_started)
            {
                w.WriteStartArray("messages");
                _started = true;
            }
            if (_role is not null)
            {
                w.WriteEndArray();
                w.WriteEndObject();
                _role = null;
            }
            w.WriteEndArray();
        }
    }
}
