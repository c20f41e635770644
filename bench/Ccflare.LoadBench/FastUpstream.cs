using System.Text;

namespace Ccflare.LoadBench;

/// <summary>
/// A fast fake Anthropic/OpenAI upstream. Streams are shaped by headers:
/// <c>x-bench-events</c> (count) and <c>x-bench-interval-ms</c>; every event carries the
/// wall-clock ticks it was written at, so clients can measure delivery delay.
/// Requests carrying the key <c>limited</c> get a 429.
/// </summary>
internal static class FastUpstream
{
    private static readonly byte[] MessageJson = Encoding.UTF8.GetBytes(
        """{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello from the benchmark upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":8,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}""");

    private static readonly byte[] ChatJson = Encoding.UTF8.GetBytes(
        """{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4.1-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the benchmark upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":8,"total_tokens":20}}""");

    private static readonly byte[] LimitedJson = Encoding.UTF8.GetBytes("""{"type":"error","error":{"type":"rate_limit_error","message":"limited"}}""");

    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(Args.Value(args, "--port") ?? "0");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.RunAsync();
        return 0;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        // Drain the request body like a real API would.
        var buffer = new byte[16 * 1024];
        while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted) > 0)
        {
        }

        if (context.Request.Headers["x-api-key"] == "limited")
        {
            context.Response.StatusCode = 429;
            context.Response.Headers["anthropic-ratelimit-unified-status"] = "rejected";
            context.Response.Headers["anthropic-ratelimit-unified-reset"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString();
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(LimitedJson);
            return;
        }

        var events = int.TryParse(context.Request.Headers["x-bench-events"], out var n) ? n : 0;
        if (events > 0)
        {
            var interval = int.TryParse(context.Request.Headers["x-bench-interval-ms"], out var ms) ? ms : 0;
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            await context.Response.StartAsync();
            var start = """event: message_start\ndata: {"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}\n\n""";
            await context.Response.WriteAsync(start.Replace("\\n", "\n"));
            await context.Response.Body.FlushAsync();
            for (var i = 0; i < events; i++)
            {
                if (interval > 0)
                {
                    await Task.Delay(interval);
                }
                var line = $"event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"t{i} \"}},\"sent\":{DateTime.UtcNow.Ticks}}}\n\n";
                await context.Response.WriteAsync(line);
                await context.Response.Body.FlushAsync();
            }
            await context.Response.WriteAsync("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":" + events + "}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
            return;
        }

        context.Response.ContentType = "application/json";
        var body = context.Request.Path.Value!.EndsWith("/chat/completions", StringComparison.Ordinal) ? ChatJson : MessageJson;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    }
}

internal static class Args
{
    public static string? Value(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    public static IEnumerable<string> All(string[] args, string name)
    {
        for (var i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == name)
            {
                yield return args[i + 1];
            }
        }
    }
}
