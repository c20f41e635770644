using System.Text.Json;

namespace Ccflare.Tests.Infrastructure;

/// <summary>Bodies and SSE events in the providers' real wire formats.</summary>
public static class WireFormats
{
    public static string AnthropicMessage(string model, string text, int inputTokens = 12, int outputTokens = 5) => JsonSerializer.Serialize(new
    {
        id = "msg_fake_01",
        type = "message",
        role = "assistant",
        model,
        content = new[] { new { type = "text", text } },
        stop_reason = "end_turn",
        stop_sequence = (string?)null,
        usage = new { input_tokens = inputTokens, output_tokens = outputTokens, cache_creation_input_tokens = 0, cache_read_input_tokens = 0 },
    });

    public static IEnumerable<string> AnthropicStream(string model, string text, int inputTokens = 12, int outputTokens = 5)
    {
        yield return FakeUpstream.Sse("message_start", new
        {
            type = "message_start",
            message = new
            {
                id = "msg_fake_01", type = "message", role = "assistant", model, content = Array.Empty<object>(),
                stop_reason = (string?)null, stop_sequence = (string?)null,
                usage = new { input_tokens = inputTokens, output_tokens = 1, cache_creation_input_tokens = 0, cache_read_input_tokens = 0 },
            },
        });
        yield return FakeUpstream.Sse("content_block_start", new { type = "content_block_start", index = 0, content_block = new { type = "text", text = "" } });
        foreach (var word in Split(text))
        {
            yield return FakeUpstream.Sse("content_block_delta", new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text = word } });
        }
        yield return FakeUpstream.Sse("content_block_stop", new { type = "content_block_stop", index = 0 });
        yield return FakeUpstream.Sse("message_delta", new { type = "message_delta", delta = new { stop_reason = "end_turn", stop_sequence = (string?)null }, usage = new { output_tokens = outputTokens } });
        yield return FakeUpstream.Sse("message_stop", new { type = "message_stop" });
    }

    public static string ChatCompletion(string model, string text, int promptTokens = 10, int completionTokens = 4) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-fake01",
        @object = "chat.completion",
        created = 1_700_000_000,
        model,
        choices = new[] { new { index = 0, message = new { role = "assistant", content = text, refusal = (string?)null }, logprobs = (object?)null, finish_reason = "stop" } },
        usage = new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens },
    });

    public static IEnumerable<string> ChatStream(string model, string text, bool includeUsage, int promptTokens = 10, int completionTokens = 4)
    {
        var first = true;
        foreach (var word in Split(text))
        {
            object delta = first ? new { role = "assistant", content = word } : new { content = word };
            first = false;
            yield return FakeUpstream.Sse(null, new { id = "chatcmpl-fake01", @object = "chat.completion.chunk", created = 1_700_000_000, model, choices = new[] { new { index = 0, delta, finish_reason = (string?)null } } });
        }
        yield return FakeUpstream.Sse(null, new { id = "chatcmpl-fake01", @object = "chat.completion.chunk", created = 1_700_000_000, model, choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } } });
        if (includeUsage)
        {
            yield return FakeUpstream.Sse(null, new { id = "chatcmpl-fake01", @object = "chat.completion.chunk", created = 1_700_000_000, model, choices = Array.Empty<object>(), usage = new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens } });
        }
        yield return "data: [DONE]\n\n";
    }

    private static object ResponseObject(string model, string text, string status, int inputTokens, int outputTokens) => new
    {
        id = "resp_fake01",
        @object = "response",
        created_at = 1_700_000_000,
        status,
        model,
        output = status == "completed"
            ? new object[] { new { type = "message", id = "msg_fake01", status = "completed", role = "assistant", content = new object[] { new { type = "output_text", text, annotations = Array.Empty<object>() } } } }
            : [],
        usage = status == "completed"
            ? new { input_tokens = inputTokens, input_tokens_details = new { cached_tokens = 0 }, output_tokens = outputTokens, output_tokens_details = new { reasoning_tokens = 0 }, total_tokens = inputTokens + outputTokens }
            : null,
        parallel_tool_calls = true,
        tool_choice = "auto",
        tools = Array.Empty<object>(),
    };

    public static string Response(string model, string text, int inputTokens = 9, int outputTokens = 3) =>
        JsonSerializer.Serialize(ResponseObject(model, text, "completed", inputTokens, outputTokens));

    public static IEnumerable<string> ResponsesStream(string model, string text, int inputTokens = 9, int outputTokens = 3)
    {
        var sequence = 0;
        yield return FakeUpstream.Sse("response.created", new { type = "response.created", sequence_number = sequence++, response = ResponseObject(model, text, "in_progress", 0, 0) });
        yield return FakeUpstream.Sse("response.output_item.added", new { type = "response.output_item.added", sequence_number = sequence++, output_index = 0, item = new { type = "message", id = "msg_fake01", status = "in_progress", role = "assistant", content = Array.Empty<object>() } });
        yield return FakeUpstream.Sse("response.content_part.added", new { type = "response.content_part.added", sequence_number = sequence++, item_id = "msg_fake01", output_index = 0, content_index = 0, part = new { type = "output_text", text = "", annotations = Array.Empty<object>() } });
        foreach (var word in Split(text))
        {
            yield return FakeUpstream.Sse("response.output_text.delta", new { type = "response.output_text.delta", sequence_number = sequence++, item_id = "msg_fake01", output_index = 0, content_index = 0, delta = word });
        }
        yield return FakeUpstream.Sse("response.output_text.done", new { type = "response.output_text.done", sequence_number = sequence++, item_id = "msg_fake01", output_index = 0, content_index = 0, text });
        yield return FakeUpstream.Sse("response.completed", new { type = "response.completed", sequence_number = sequence++, response = ResponseObject(model, text, "completed", inputTokens, outputTokens) });
    }

    /// <summary>An Anthropic message that calls a tool (optionally after thinking), as the API answers when tools are offered.</summary>
    public static string AnthropicToolUse(string model, string toolId, string toolName, string inputJson, string? thinking = null) => JsonSerializer.Serialize(new
    {
        id = "msg_fake_tool",
        type = "message",
        role = "assistant",
        model,
        content = thinking is null
            ? new object[] { new { type = "tool_use", id = toolId, name = toolName, input = JsonDocument.Parse(inputJson).RootElement } }
            : [new { type = "thinking", thinking, signature = "sig" }, new { type = "tool_use", id = toolId, name = toolName, input = JsonDocument.Parse(inputJson).RootElement }],
        stop_reason = "tool_use",
        stop_sequence = (string?)null,
        usage = new { input_tokens = 30, output_tokens = 15, cache_creation_input_tokens = 0, cache_read_input_tokens = 0 },
    });

    /// <summary>The streamed form of <see cref="AnthropicToolUse"/>: thinking deltas (when given), then the tool input in two JSON fragments.</summary>
    public static IEnumerable<string> AnthropicToolUseStream(string model, string toolId, string toolName, string inputJson, string? thinking = null)
    {
        yield return FakeUpstream.Sse("message_start", new
        {
            type = "message_start",
            message = new
            {
                id = "msg_fake_tool", type = "message", role = "assistant", model, content = Array.Empty<object>(),
                stop_reason = (string?)null, stop_sequence = (string?)null,
                usage = new { input_tokens = 30, output_tokens = 1, cache_creation_input_tokens = 0, cache_read_input_tokens = 0 },
            },
        });
        var index = 0;
        if (thinking is not null)
        {
            yield return FakeUpstream.Sse("content_block_start", new { type = "content_block_start", index, content_block = new { type = "thinking", thinking = "", signature = "" } });
            yield return FakeUpstream.Sse("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "thinking_delta", thinking } });
            yield return FakeUpstream.Sse("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "signature_delta", signature = "sig" } });
            yield return FakeUpstream.Sse("content_block_stop", new { type = "content_block_stop", index });
            index++;
        }
        yield return FakeUpstream.Sse("content_block_start", new { type = "content_block_start", index, content_block = new { type = "tool_use", id = toolId, name = toolName, input = new { } } });
        var half = inputJson.Length / 2;
        yield return FakeUpstream.Sse("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "input_json_delta", partial_json = inputJson[..half] } });
        yield return FakeUpstream.Sse("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "input_json_delta", partial_json = inputJson[half..] } });
        yield return FakeUpstream.Sse("content_block_stop", new { type = "content_block_stop", index });
        yield return FakeUpstream.Sse("message_delta", new { type = "message_delta", delta = new { stop_reason = "tool_use", stop_sequence = (string?)null }, usage = new { output_tokens = 15 } });
        yield return FakeUpstream.Sse("message_stop", new { type = "message_stop" });
    }

    /// <summary>A Chat Completion that calls a tool.</summary>
    public static string ChatToolCall(string model, string callId, string name, string argumentsJson) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-faketool",
        @object = "chat.completion",
        created = 1_700_000_000,
        model,
        choices = new[]
        {
            new
            {
                index = 0,
                message = new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = callId, type = "function", function = new { name, arguments = argumentsJson } } } },
                logprobs = (object?)null,
                finish_reason = "tool_calls",
            },
        },
        usage = new { prompt_tokens = 25, completion_tokens = 9, total_tokens = 34 },
    });

    private static IEnumerable<string> Split(string text)
    {
        var words = text.Split(' ');
        for (var i = 0; i < words.Length; i++)
        {
            yield return i == 0 ? words[i] : " " + words[i];
        }
    }

    /// <summary>
    /// Claude's OAuth usage endpoint (<c>GET /api/oauth/usage</c>): one object per window with <c>utilization</c>
    /// in percent and <c>resets_at</c> in ISO 8601 with microseconds (or null), null for windows the plan lacks,
    /// and <c>extra_usage</c>.
    /// </summary>
    public static string ClaudeOAuthUsage(
        double fiveHourPercent, DateTimeOffset? fiveHourResetsAt, double sevenDayPercent, DateTimeOffset? sevenDayResetsAt,
        double? opusPercent = null, double? sonnetPercent = null, DateTimeOffset? familyResetsAt = null, bool extraUsageEnabled = false)
    {
        static object Window(double percent, DateTimeOffset? resetsAt) => new { utilization = percent, resets_at = resetsAt?.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", System.Globalization.CultureInfo.InvariantCulture) };
        return JsonSerializer.Serialize(new
        {
            five_hour = Window(fiveHourPercent, fiveHourResetsAt),
            seven_day = Window(sevenDayPercent, sevenDayResetsAt),
            seven_day_oauth_apps = (object?)null,
            seven_day_opus = opusPercent is { } opus ? Window(opus, familyResetsAt) : null,
            seven_day_sonnet = sonnetPercent is { } sonnet ? Window(sonnet, familyResetsAt) : null,
            iguana_necktie = (object?)null,
            extra_usage = new { is_enabled = extraUsageEnabled, monthly_limit = extraUsageEnabled ? 5000 : (int?)null, used_credits = extraUsageEnabled ? 120.0 : (double?)null, utilization = extraUsageEnabled ? 2.4 : (double?)null },
        });
    }

    /// <summary>
    /// ChatGPT's usage endpoint (<c>GET /backend-api/wham/usage</c>): the plan, <c>rate_limit</c> with its primary
    /// (five-hour) and secondary (weekly) windows in percent, seconds and epoch seconds, the code review limit and credits.
    /// </summary>
    public static string CodexUsage(DateTimeOffset now, double primaryPercent, DateTimeOffset primaryResetAt, double? secondaryPercent, DateTimeOffset secondaryResetAt, bool limitReached = false)
    {
        static object Window(DateTimeOffset now, double percent, int seconds, DateTimeOffset resetAt) => new
        {
            used_percent = percent,
            limit_window_seconds = seconds,
            reset_after_seconds = (long)Math.Max(0, (resetAt - now).TotalSeconds),
            reset_at = resetAt.ToUnixTimeSeconds(),
        };
        return JsonSerializer.Serialize(new
        {
            plan_type = "pro",
            rate_limit = new
            {
                allowed = !limitReached,
                limit_reached = limitReached,
                primary_window = Window(now, primaryPercent, 18_000, primaryResetAt),
                secondary_window = secondaryPercent is { } secondary ? Window(now, secondary, 604_800, secondaryResetAt) : null,
            },
            code_review_rate_limit = new { allowed = true, limit_reached = false, primary_window = Window(now, 0, 604_800, now.AddDays(7)), secondary_window = (object?)null },
            credits = new { has_credits = false, unlimited = false, balance = "0", approx_local_messages = new[] { 0, 0 }, approx_cloud_messages = new[] { 0, 0 } },
        });
    }
}
