using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.RoutingSimulation;

/// <summary>A strategy and the options it runs with.</summary>
/// <param name="Strategy">The strategy's name.</param>
/// <param name="SessionDuration">The session duration, when not the default five hours.</param>
/// <param name="SwitchAtUtilization">The near-limit threshold, when not the default 0.95.</param>
internal sealed record SimulationVariant(string Strategy, TimeSpan? SessionDuration = null, double? SwitchAtUtilization = null)
{
    public string Label
    {
        get
        {
            var options = new List<string>(2);
            if (SessionDuration is { } duration)
            {
                options.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{duration.TotalHours:0.#}-hour sessions"));
            }
            if (SwitchAtUtilization is { } switchAt)
            {
                options.Add(switchAt >= 1 ? "no switch before the limit" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"switch at {switchAt:0.##}"));
            }
            return options.Count == 0 ? $"`{Strategy}`" : $"`{Strategy}`, {string.Join(", ", options)}";
        }
    }
}

/// <summary>What one strategy did with the simulated day.</summary>
/// <param name="Variant">The strategy and its options.</param>
/// <param name="Requests">Requests the sessions sent.</param>
/// <param name="ClientRateLimited">Requests the client got a 429 for.</param>
/// <param name="ClientRateLimitedWithCapacityLeft">Of those, the ones answered while some account's window still had room.</param>
/// <param name="ClientRefused">Requests answered 503 because every account was cooling down.</param>
/// <param name="UpstreamRejections">429s the accounts answered, including those failover hid from the client.</param>
/// <param name="TokensServed">Tokens the accounts admitted.</param>
/// <param name="WindowsOpened">Usage windows the day opened across the accounts.</param>
/// <param name="WindowCapacity">Tokens one window admits.</param>
/// <param name="SwitchesPerSession">For each session, how often its account changed between consecutive answered requests.</param>
internal sealed record StrategyOutcome(
    SimulationVariant Variant,
    int Requests,
    int ClientRateLimited,
    int ClientRateLimitedWithCapacityLeft,
    int ClientRefused,
    int UpstreamRejections,
    long TokensServed,
    int WindowsOpened,
    long WindowCapacity,
    IReadOnlyList<int> SwitchesPerSession)
{
    /// <summary>The share of the opened windows' capacity that requests used.</summary>
    public double CapacityUsed => WindowsOpened == 0 ? 0 : (double)TokensServed / (WindowsOpened * WindowCapacity);

    public double MeanSwitchesPerSession => SwitchesPerSession.Count == 0 ? 0 : SwitchesPerSession.Average();

    public int MaxSwitchesPerSession => SwitchesPerSession.Count == 0 ? 0 : SwitchesPerSession.Max();
}

/// <summary>
/// Runs the simulated day through a real Ccflare (Kestrel on loopback, the real proxy, strategies, near-limit
/// ranking, cool-downs and account feedback) whose clock is a <see cref="FakeTimeProvider"/> and whose upstream
/// is the <see cref="SimulatedUpstream"/>. Requests go one at a time in the order of their simulated instants;
/// the clock jumps from one to the next, so nothing sleeps and every run is the same.
/// </summary>
internal static class RoutingSimulator
{
    /// <summary>The published comparison: the three strategies with default options, then the options that change the picture.</summary>
    public static readonly IReadOnlyList<SimulationVariant> Variants =
    [
        new("session"),
        new("round-robin"),
        new("reset-aware"),
        new("session", SessionDuration: TimeSpan.FromHours(1)),
        new("reset-aware", SessionDuration: TimeSpan.FromHours(1)),
        new("session", SwitchAtUtilization: 1),
    ];

    private const string MessagesPath = "/v1/anthropic/v1/messages";
    private const string RequestBody = """{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"continue"}]}""";

    public static async Task<StrategyOutcome> RunAsync(SimulationScenario scenario, SimulationVariant variant, CancellationToken cancellationToken = default)
    {
        var sessions = scenario.GenerateSessions();
        var time = new FakeTimeProvider(scenario.DayStart - TimeSpan.FromMinutes(1));
        using var upstream = new SimulatedUpstream(scenario, time);
        await using var app = await StartGatewayAsync(time, upstream, variant, cancellationToken);
        using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };

        var keys = new List<string>(scenario.Accounts);
        for (var i = 0; i < scenario.Accounts; i++)
        {
            var key = $"sim-key-{(char)('a' + i)}";
            keys.Add(key);
            using var created = await client.PostAsJsonAsync("/api/accounts",
                new { name = $"subscription-{(char)('a' + i)}", provider = "anthropic", api_key = key, base_url = "http://127.0.0.1:9" }, cancellationToken);
            created.EnsureSuccessStatusCode();
            // Distinct creation instants keep the order the accounts were added unambiguous.
            time.Advance(TimeSpan.FromSeconds(1));
        }

        // The next request of every session, earliest first (ties by session id, so the order is fixed).
        var due = new PriorityQueue<(SimulatedSession Session, int Index), (DateTimeOffset At, int Id)>();
        foreach (var session in sessions)
        {
            due.Enqueue((session, 0), (session.Arrival, session.Id));
        }
        var lastAccount = new string?[sessions.Count];
        var switches = new int[sessions.Count];
        int requests = 0, rateLimited = 0, rateLimitedWithCapacity = 0, refused = 0;
        while (due.TryDequeue(out var next, out var at))
        {
            if (at.At > time.GetUtcNow())
            {
                time.SetUtcNow(at.At);
            }
            var request = next.Session.Requests[next.Index];
            upstream.PendingTokens = request.Tokens;
            upstream.Attempts.Clear();
            using (var response = await client.PostAsync(MessagesPath, new StringContent(RequestBody, Encoding.UTF8, "application/json"), cancellationToken))
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                requests++;
                var status = (int)response.StatusCode;
                if (status == 429)
                {
                    rateLimited++;
                    if (upstream.AnyCapacityLeft(keys))
                    {
                        rateLimitedWithCapacity++;
                    }
                }
                else if (status == 503)
                {
                    refused++;
                }
                else if (status == 200)
                {
                    var served = upstream.Attempts[^1].Key;
                    var id = next.Session.Id;
                    if (lastAccount[id] is { } previous && previous != served)
                    {
                        switches[id]++;
                    }
                    lastAccount[id] = served;
                }
            }
            if (next.Index + 1 < next.Session.Requests.Count)
            {
                var following = next.Session.Requests[next.Index + 1];
                due.Enqueue((next.Session, next.Index + 1), (time.GetUtcNow() + following.ThinkTimeBefore, next.Session.Id));
            }
        }
        return new StrategyOutcome(variant, requests, rateLimited, rateLimitedWithCapacity, refused, upstream.Rejections,
            upstream.TokensServed, upstream.WindowsOpened, scenario.WindowCapacity, switches);
    }

    private static async Task<WebApplication> StartGatewayAsync(FakeTimeProvider time, SimulatedUpstream upstream, SimulationVariant variant, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddCcflare(options =>
        {
            options.LbStrategy = variant.Strategy;
            if (variant.SessionDuration is { } duration)
            {
                options.SessionDurationMs = (long)duration.TotalMilliseconds;
            }
            if (variant.SwitchAtUtilization is { } switchAt)
            {
                options.Usage.SwitchAtUtilization = switchAt;
            }
            // One instance and one process: nothing else writes accounts, so there is nothing to reload
            // (and no background reload racing the requests on the jumping clock).
            options.AccountReloadIntervalMs = 0;
        }).ConfigureUpstreamClient(client => client.ConfigurePrimaryHttpMessageHandler(() => upstream));
        var app = builder.Build();
        app.MapCcflare();
        await app.StartAsync(cancellationToken);
        return app;
    }
}
