using System.Globalization;
using System.Net;
using System.Text;

namespace Ccflare.RoutingSimulation;

/// <summary>
/// The Anthropic API as a subscription account meets it, in process and on the simulation's clock.
/// Each account (told apart by its API key) has one usage window: it opens with the first request after
/// the previous window reset, lasts <see cref="SimulationScenario.WindowLength"/> and admits requests until
/// it holds <see cref="SimulationScenario.WindowCapacity"/> tokens; after that it answers 429 until the reset.
/// Every answer carries the <c>anthropic-ratelimit-unified-*</c> headers a subscription account sends,
/// reporting the window as it stood when the request arrived (the request's own tokens are not in it yet).
/// </summary>
internal sealed class SimulatedUpstream(SimulationScenario scenario, TimeProvider time) : HttpMessageHandler
{
    private readonly Dictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>Tokens the next request counts (set by the driver; failover resends the same request).</summary>
    public int PendingTokens { get; set; }

    /// <summary>The API key and status of every attempt of the current request, in order.</summary>
    public List<(string Key, int Status)> Attempts { get; } = [];

    public int WindowsOpened { get; private set; }

    public long TokensServed { get; private set; }

    /// <summary>429s the accounts answered (before failover decides what the client sees).</summary>
    public int Rejections { get; private set; }

    /// <summary>Whether any account's window would still admit a request now.</summary>
    public bool AnyCapacityLeft(IEnumerable<string> keys)
    {
        var now = time.GetUtcNow();
        foreach (var key in keys)
        {
            if (!_windows.TryGetValue(key, out var window) || !window.IsOpen(now) || window.Used < scenario.WindowCapacity)
            {
                return true;
            }
        }
        return false;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var key = request.Headers.TryGetValues("x-api-key", out var values) ? values.First() : "";
        var now = time.GetUtcNow();
        if (!_windows.TryGetValue(key, out var window))
        {
            _windows[key] = window = new Window();
        }
        if (!window.IsOpen(now))
        {
            window.ResetsAt = null;
            window.Used = 0;
        }
        var reportedUtilization = (double)window.Used / scenario.WindowCapacity;
        HttpResponseMessage response;
        if (window.ResetsAt is { } resetsAt && window.Used >= scenario.WindowCapacity)
        {
            Rejections++;
            response = Answer(HttpStatusCode.TooManyRequests,
                """{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account's rate limit."}}""");
            AddUnifiedHeaders(response, "rejected", reportedUtilization, resetsAt);
        }
        else
        {
            if (window.ResetsAt is null)
            {
                window.ResetsAt = now + scenario.WindowLength;
                WindowsOpened++;
            }
            window.Used += PendingTokens;
            TokensServed += PendingTokens;
            response = Answer(HttpStatusCode.OK, string.Create(CultureInfo.InvariantCulture,
                $$$"""{"id":"msg_simulated","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":{{{PendingTokens}}},"output_tokens":0}}"""));
            AddUnifiedHeaders(response, reportedUtilization >= 0.9 ? "allowed_warning" : "allowed", reportedUtilization, window.ResetsAt.Value);
        }
        Attempts.Add((key, (int)response.StatusCode));
        response.RequestMessage = request;
        return Task.FromResult(response);
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private static void AddUnifiedHeaders(HttpResponseMessage response, string status, double utilization, DateTimeOffset resetsAt)
    {
        var reset = resetsAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var fraction = utilization.ToString("0.####", CultureInfo.InvariantCulture);
        var headers = response.Headers;
        headers.TryAddWithoutValidation("anthropic-ratelimit-unified-status", status);
        headers.TryAddWithoutValidation("anthropic-ratelimit-unified-representative-claim", "five_hour");
        headers.TryAddWithoutValidation("anthropic-ratelimit-unified-reset", reset);
        headers.TryAddWithoutValidation("anthropic-ratelimit-unified-5h-utilization", fraction);
        headers.TryAddWithoutValidation("anthropic-ratelimit-unified-5h-reset", reset);
        headers.TryAddWithoutValidation("anthropic-ratelimit-unified-5h-status", status);
    }

    private sealed class Window
    {
        public DateTimeOffset? ResetsAt { get; set; }

        public long Used { get; set; }

        public bool IsOpen(DateTimeOffset now) => ResetsAt > now;
    }
}
