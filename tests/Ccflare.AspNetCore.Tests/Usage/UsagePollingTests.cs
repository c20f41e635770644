using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Accounts;
using Ccflare.Tests.Infrastructure;
using Ccflare.Tests.OAuth;
using Ccflare.Tests.Security;
using Ccflare.Usage.Polling;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.Usage;

/// <summary>
/// Polling the usage endpoints, end to end: a real Ccflare on Kestrel, the fake upstream's usage endpoints
/// in their real shapes, and a fake clock stepped forward (no sleeping through intervals).
/// </summary>
public sealed class UsagePollingTests : IAsyncLifetime
{
    private const int Interval = 60;
    private const string MessageBody = """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""";

    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly string _directory = Directory.CreateTempSubdirectory("ccflare-poll-").FullName;
    private readonly ConcurrentQueue<(string? Token, string Path, DateTimeOffset At)> _polls = new();
    private FakeUpstream _upstream = null!;
    private FakeAuthServer _auth = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _auth = await FakeAuthServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _auth.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Task<CcflareTestHost> StartHostAsync(int interval = Interval, Func<double>? random = null, Action<CcflareOptions>? configure = null, Action<ICcflareBuilder>? build = null, CapturingLoggerProvider? logs = null) =>
        CcflareTestHost.StartAsync(
            options =>
            {
                options.Usage.PollIntervalSeconds = interval;
                options.Providers["claude-code"] = new ProviderOptions { BaseUrl = _upstream.BaseUrl, TokenUrl = _auth.TokenUrl, UsageUrl = _upstream.BaseUrl + "/api/oauth/usage" };
                options.Providers["codex"] = new ProviderOptions { BaseUrl = _upstream.CodexBaseUrl, TokenUrl = _auth.TokenUrl, UsageUrl = _upstream.BaseUrl + "/backend-api/wham/usage" };
                configure?.Invoke(options);
            },
            build,
            _time,
            host: b =>
            {
                if (random is not null)
                {
                    b.Services.Replace(ServiceDescriptor.Singleton(new UsagePollSchedule(TimeSpan.FromSeconds(interval), random)));
                }
                if (logs is not null)
                {
                    b.Logging.AddProvider(logs);
                    b.Logging.SetMinimumLevel(LogLevel.Trace);
                }
            });

    private static async Task<string> AddOAuthAccountAsync(CcflareTestHost host, string name, string provider, string accessToken, string? refreshToken = null, TimeSpan? expiresIn = null, int priority = 0)
    {
        using var response = await host.Client.PostAsJsonAsync("/api/accounts", new
        {
            name,
            provider,
            auth_method = "oauth",
            access_token = accessToken,
            refresh_token = refreshToken,
            expires_at = host.Time!.GetUtcNow().Add(expiresIn ?? TimeSpan.FromDays(1)).ToUnixTimeMilliseconds(),
            priority,
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("account").GetProperty("id").GetString()!;
    }

    /// <summary>Answers the usage endpoints as <paramref name="answer"/> says, recording each poll with the fake clock's time.</summary>
    private void AnswerUsage(Func<HttpContext, ReceivedRequest, int, Task> answer)
    {
        var count = 0;
        _upstream.UsageOverride = (context, request) =>
        {
            _polls.Enqueue((request.Credential, request.Path, _time.GetUtcNow()));
            return answer(context, request, Interlocked.Increment(ref count));
        };
    }

    private void RecordPolls() => AnswerUsage((context, request, _) => _upstream.AnswerUsageAsync(context, request));

    private IReadOnlyList<DateTimeOffset> PollsOf(string token) => _polls.Where(p => p.Token == token).Select(p => p.At).ToArray();

    /// <summary>Moves the fake clock forward in steps, letting the poller run after each, until <paramref name="done"/> or <paramref name="limit"/> has passed.</summary>
    private async Task<bool> AdvanceUntilAsync(Func<bool> done, TimeSpan limit, TimeSpan? step = null)
    {
        var end = _time.GetUtcNow() + limit;
        while (true)
        {
            if (await SettledAsync(done))
            {
                return true;
            }
            if (_time.GetUtcNow() >= end)
            {
                return false;
            }
            _time.Advance(step ?? TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Moves the fake clock forward by <paramref name="span"/> in steps, letting the poller run after each.</summary>
    private Task AdvanceAsync(TimeSpan span, TimeSpan? step = null) => AdvanceUntilAsync(() => false, span, step);

    private static async Task<bool> SettledAsync(Func<bool> done)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.ElapsedMilliseconds < 25)
        {
            if (done())
            {
                return true;
            }
            await Task.Delay(5);
        }
        return done();
    }

    private static async Task<JsonElement> AccountAsync(CcflareTestHost host, string name)
    {
        var accounts = await host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        return accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);
    }

    private static AccountUsage? UsageOf(CcflareTestHost host, string name) =>
        host.Services.GetRequiredService<AccountRegistry>().FindByName(name)?.Usage;

    /// <summary>
    /// Polls are timed by the fake clock when the fake upstream sees them. The poller's timers fire at exact
    /// fake times, but a busy machine can let the clock step on before a poll lands (and each wait counts
    /// from when the previous poll ended), so the n-th poll of a chain may read up to n × <see cref="Slack"/>
    /// seconds late, never early.
    /// </summary>
    private const double Slack = 3;

    /// <summary>With jitter fixed at half its range, the first poll: the loop sees new accounts one interval after start, then waits 5 % of it.</summary>
    private const double FirstPoll = Interval + Interval * 0.05;

    private void AssertAt(double secondsFromStart, DateTimeOffset actual, int chain = 1) =>
        Assert.InRange((actual - Start).TotalSeconds, secondsFromStart, secondsFromStart + Slack * chain);

    [Fact]
    public async Task Claude_poll_fills_usage_with_fractions_routes_around_the_full_account_and_survives_a_restart()
    {
        var database = Path.Combine(_directory, "ccflare.db");
        var start = Start;
        RecordPolls();
        _upstream.UsageAnswers["at-max"] = WireFormats.ClaudeOAuthUsage(97, start.AddHours(2), 40, start.AddDays(3), sonnetPercent: 12, familyResetsAt: start.AddDays(3));
        await using (var host = await StartHostAsync(random: () => 0.5, build: b => b.UseSqliteStorage(database)))
        {
            await AddOAuthAccountAsync(host, "max", "claude-code", "at-max");
            await AddOAuthAccountAsync(host, "spare", "claude-code", "at-spare", priority: 1);

            Assert.True(await AdvanceUntilAsync(() => UsageOf(host, "max") is not null, TimeSpan.FromSeconds(Interval * 2)));

            var poll = _upstream.UsageRequests.First(r => r.Credential == "at-max");
            Assert.Equal("GET", poll.Method);
            Assert.Equal("/api/oauth/usage", poll.Path);
            Assert.Equal("Bearer at-max", poll.Header("authorization"));
            Assert.Contains("oauth-2025-04-20", poll.Header("anthropic-beta"), StringComparison.Ordinal);
            // The loop first sees the accounts one interval after start; the first poll follows after jitter (half of a tenth here).
            AssertAt(FirstPoll, PollsOf("at-max")[0]);

            var usage = (await AccountAsync(host, "max")).GetProperty("usage");
            Assert.InRange(usage.GetProperty("updatedAt").GetDateTimeOffset(), start.AddSeconds(Interval), PollsOf("at-max")[0]);
            var windows = usage.GetProperty("windows").EnumerateArray().ToArray();
            Assert.Equal(["five_hour", "seven_day", "seven_day_sonnet"], windows.Select(w => w.GetProperty("name").GetString()));
            Assert.Equal(300, windows[0].GetProperty("windowMinutes").GetInt32());
            Assert.Equal(0.97, windows[0].GetProperty("utilization").GetDouble());
            Assert.Equal(start.AddHours(2), windows[0].GetProperty("resetsAt").GetDateTimeOffset());
            Assert.Equal(10080, windows[1].GetProperty("windowMinutes").GetInt32());
            Assert.Equal(0.4, windows[1].GetProperty("utilization").GetDouble());
            Assert.Equal(0.12, windows[2].GetProperty("utilization").GetDouble());
            Assert.Equal("rejected", usage.GetProperty("overage").GetProperty("status").GetString());

            // The near-limit rule sees the polled window: the preferred account is at 97 %, so the spare serves.
            using var response = await host.Client.PostAsync("/v1/claude-code/v1/messages", new StringContent(MessageBody, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Bearer at-spare", _upstream.Received.Last(r => r.Path.EndsWith("/messages", StringComparison.Ordinal)).Header("authorization"));
        }

        await using var restarted = await StartHostAsync(interval: 0, build: b => b.UseSqliteStorage(database));
        var kept = (await AccountAsync(restarted, "max")).GetProperty("usage").GetProperty("windows").EnumerateArray().First();
        Assert.Equal(0.97, kept.GetProperty("utilization").GetDouble());
    }

    [Fact]
    public async Task Codex_poll_fills_usage_with_fractions_and_names_the_chatgpt_account()
    {
        var start = _time.GetUtcNow();
        var payload = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"https://api.openai.com/auth":{"chatgpt_account_id":"ws-42"}}""")).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var token = "eyJhbGciOiJSUzI1NiJ9." + payload + ".c2ln";
        RecordPolls();
        _upstream.UsageAnswers[token] = WireFormats.CodexUsage(start, 30, start.AddHours(4), 9, start.AddDays(6));
        await using var host = await StartHostAsync();
        await AddOAuthAccountAsync(host, "chatgpt", "codex", token);

        Assert.True(await AdvanceUntilAsync(() => UsageOf(host, "chatgpt") is not null, TimeSpan.FromSeconds(Interval * 2)));

        var poll = _upstream.UsageRequests.Single();
        Assert.Equal("/backend-api/wham/usage", poll.Path);
        Assert.Equal("Bearer " + token, poll.Header("authorization"));
        Assert.Equal("ws-42", poll.Header("chatgpt-account-id"));
        var usage = (await AccountAsync(host, "chatgpt")).GetProperty("usage");
        Assert.Equal("allowed", usage.GetProperty("status").GetString());
        var windows = usage.GetProperty("windows").EnumerateArray().ToArray();
        Assert.Equal(["primary", "secondary"], windows.Select(w => w.GetProperty("name").GetString()));
        Assert.Equal(0.3, windows[0].GetProperty("utilization").GetDouble());
        Assert.Equal(300, windows[0].GetProperty("windowMinutes").GetInt32());
        Assert.Equal(start.AddHours(4), windows[0].GetProperty("resetsAt").GetDateTimeOffset());
        Assert.Equal(0.09, windows[1].GetProperty("utilization").GetDouble());
        Assert.Equal(10080, windows[1].GetProperty("windowMinutes").GetInt32());
    }

    [Fact]
    public async Task Paused_refresh_failed_and_api_key_accounts_are_never_polled()
    {
        RecordPolls();
        _auth.Respond = r => r["refresh_token"] == "rt-revoked"
            ? (400, """{"error":"invalid_grant","error_description":"Refresh token revoked"}""")
            : (500, "{}");
        await using var host = await StartHostAsync(random: () => 0.5);
        await AddOAuthAccountAsync(host, "active", "claude-code", "at-active");
        var paused = await AddOAuthAccountAsync(host, "paused", "claude-code", "at-paused");
        await AddOAuthAccountAsync(host, "revoked", "claude-code", "at-revoked", "rt-revoked", TimeSpan.FromMinutes(1));
        await host.AddAccountAsync("keyed", "anthropic", "sk-ant-key", _upstream.BaseUrl);
        using (var pause = await host.Client.PostAsync($"/api/accounts/{paused}/pause", null))
        {
            Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        }

        Assert.True(await AdvanceUntilAsync(() => PollsOf("at-active").Count >= 3, TimeSpan.FromSeconds(Interval * 5)));

        Assert.All(_upstream.UsageRequests, r => Assert.Equal("at-active", r.Credential));
        Assert.Equal("refresh_failed", (await AccountAsync(host, "revoked")).GetProperty("tokenStatus").GetString());
        // The refusal was met once; from then on the account is skipped, not asked for a token again.
        Assert.Equal(1, _auth.RefreshCalls);
        Assert.Equal(JsonValueKind.Null, (await AccountAsync(host, "paused")).GetProperty("usage").ValueKind);
    }

    [Fact]
    public async Task A_token_about_to_expire_is_refreshed_before_the_poll_as_for_a_proxied_request()
    {
        RecordPolls();
        // The background refresher's first pass comes after the poll: the poll itself refreshes.
        await using var host = await StartHostAsync(random: () => 0.5, configure: o => o.TokenRefreshIntervalMs = 3_600_000);
        await AddOAuthAccountAsync(host, "max", "claude-code", "at-old", "rt-old", TimeSpan.FromMinutes(3));

        Assert.True(await AdvanceUntilAsync(() => _upstream.UsageRequests.Count >= 1, TimeSpan.FromSeconds(Interval * 2)));

        Assert.Equal("Bearer at-1", Assert.Single(_upstream.UsageRequests).Header("authorization"));
        Assert.Equal(1, _auth.RefreshCalls);
        Assert.Equal("rt-old", _auth.Requests.Single()["refresh_token"]);
    }

    [Fact]
    public async Task A_server_error_backs_off_is_logged_without_the_token_and_success_returns_to_the_interval()
    {
        var logs = new CapturingLoggerProvider();
        var outcomes = ListenToPollOutcomes(out var listener);
        using (listener)
        {
            AnswerUsage((context, request, n) => n == 1
                ? FakeUpstream.WriteJsonAsync(context, 500, """{"type":"error","error":{"type":"api_error","message":"Internal server error"}}""")
                : _upstream.AnswerUsageAsync(context, request));
            await using var host = await StartHostAsync(random: () => 0.5, logs: logs);
            await AddOAuthAccountAsync(host, "max", "claude-code", "at-max-SECRET-0001");

            Assert.True(await AdvanceUntilAsync(() => PollsOf("at-max-SECRET-0001").Count >= 3, TimeSpan.FromSeconds(Interval * 6)));

            var polls = PollsOf("at-max-SECRET-0001");
            // After the 500: twice the interval plus jitter; after the success that follows: the interval plus jitter.
            AssertAt(FirstPoll, polls[0]);
            AssertAt(FirstPoll + Interval * 2.05, polls[1], chain: 2);
            AssertAt(FirstPoll + Interval * 2.05 + Interval * 1.05, polls[2], chain: 3);
            Assert.NotNull(UsageOf(host, "max"));
            Assert.True(await SettledAsync(() => outcomes.Count(o => o == "success") >= 2));
            Assert.Equal(1, outcomes.Count(o => o == "http_error"));
            Assert.Contains(logs.Lines, l => l.Contains("[521]", StringComparison.Ordinal) && l.Contains("'max'", StringComparison.Ordinal) && l.Contains("500", StringComparison.Ordinal));
            Assert.DoesNotContain("SECRET", logs.AllText(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_429_from_the_usage_endpoint_waits_for_its_retry_after()
    {
        var outcomes = ListenToPollOutcomes(out var listener);
        using (listener)
        {
            AnswerUsage((context, request, n) => n == 1
                ? FakeUpstream.WriteJsonAsync(context, 429, """{"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}""", new Dictionary<string, string> { ["retry-after"] = "900" })
                : _upstream.AnswerUsageAsync(context, request));
            await using var host = await StartHostAsync(random: () => 0.5);
            await AddOAuthAccountAsync(host, "max", "claude-code", "at-max");

            Assert.True(await AdvanceUntilAsync(() => PollsOf("at-max").Count >= 2, TimeSpan.FromSeconds(Interval + 1000), TimeSpan.FromSeconds(3)));

            var polls = PollsOf("at-max");
            // 900 s asked for is longer than the backoff (120 s): it wins, plus jitter; stepped 3 s at a time.
            AssertAt(FirstPoll, polls[0]);
            AssertAt(FirstPoll + 900 + Interval * 0.05, polls[1], chain: 3);
            Assert.Contains("rate_limited", outcomes);
        }
    }

    [Fact]
    public async Task Jitter_spreads_first_polls_within_a_tenth_of_the_interval()
    {
        RecordPolls();
        var start = _time.GetUtcNow();
        await using var host = await StartHostAsync();
        var tokens = Enumerable.Range(1, 5).Select(i => $"at-{i}").ToArray();
        foreach (var token in tokens)
        {
            await AddOAuthAccountAsync(host, token.Replace("at-", "acct-"), "claude-code", token);
        }

        Assert.True(await AdvanceUntilAsync(() => tokens.All(t => PollsOf(t).Count >= 2), TimeSpan.FromSeconds(Interval * 3)));

        foreach (var token in tokens)
        {
            var polls = PollsOf(token);
            Assert.InRange(polls[0], start.AddSeconds(Interval), start.AddSeconds(Interval * 1.1 + Slack));
            Assert.InRange(polls[1] - polls[0], TimeSpan.FromSeconds(Interval - Slack), TimeSpan.FromSeconds(Interval * 1.1 + Slack));
        }
    }

    [Fact]
    public async Task Interval_zero_sends_no_usage_request_at_all()
    {
        RecordPolls();
        await using var host = await StartHostAsync(interval: 0);
        await AddOAuthAccountAsync(host, "max", "claude-code", "at-max");
        await AddOAuthAccountAsync(host, "chatgpt", "codex", "codex-at");

        await AdvanceAsync(TimeSpan.FromHours(3), TimeSpan.FromMinutes(5));

        Assert.Empty(_upstream.UsageRequests);
        Assert.Null(UsageOf(host, "max"));
    }

    [Theory]
    [InlineData("{\"five_hour\":")]
    [InlineData("<html>upstream error</html>")]
    [InlineData("""{"five_hour":{"utilization":"most","resets_at":"later"}}""")]
    [InlineData("""{"rate_limit":{"primary_window":{"used_percent":12}}}""")]
    public async Task An_answer_that_is_not_usage_changes_nothing(string answer)
    {
        var outcomes = ListenToPollOutcomes(out var listener);
        using (listener)
        {
            AnswerUsage((context, _, _) => FakeUpstream.WriteJsonAsync(context, 200, answer));
            await using var host = await StartHostAsync(random: () => 0.5);
            await AddOAuthAccountAsync(host, "max", "claude-code", "at-max");
            _upstream.ScriptFor("at-max", (context, request) =>
            {
                foreach (var (name, value) in UsageHeaderTests.ClaudeSubscriptionHeaders(_time.GetUtcNow()))
                {
                    context.Response.Headers[name] = value;
                }
                return FakeUpstream.DefaultAsync(context, request);
            });
            using (var response = await host.Client.PostAsync("/v1/claude-code/v1/messages", new StringContent(MessageBody, Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            var known = (await AccountAsync(host, "max")).GetProperty("usage").GetRawText();

            Assert.True(await AdvanceUntilAsync(() => PollsOf("at-max").Count >= 2, TimeSpan.FromSeconds(Interval * 4)));

            Assert.Equal(known, (await AccountAsync(host, "max")).GetProperty("usage").GetRawText());
            var polls = PollsOf("at-max");
            AssertAt(FirstPoll, polls[0]);
            AssertAt(FirstPoll + Interval * 2.05, polls[1], chain: 2);
            Assert.True(await SettledAsync(() => outcomes.Count(o => o == "invalid") >= 2));
        }
    }

    [Fact]
    public async Task A_hanging_usage_endpoint_does_not_delay_proxied_requests_and_times_out()
    {
        var outcomes = ListenToPollOutcomes(out var listener);
        using (listener)
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            AnswerUsage(async (context, _, _) =>
            {
                await release.Task.WaitAsync(context.RequestAborted);
            });
            try
            {
                await using var host = await StartHostAsync(random: () => 0.5);
                await AddOAuthAccountAsync(host, "max", "claude-code", "at-max");
                Assert.True(await AdvanceUntilAsync(() => PollsOf("at-max").Count == 1, TimeSpan.FromSeconds(Interval * 2)));

                var timer = Stopwatch.StartNew();
                for (var i = 0; i < 5; i++)
                {
                    using var response = await host.Client.PostAsync("/v1/claude-code/v1/messages", new StringContent(MessageBody, Encoding.UTF8, "application/json"));
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                }
                Assert.True(timer.Elapsed < TimeSpan.FromSeconds(5), $"Proxied requests took {timer.Elapsed} while a poll hung.");
                Assert.Equal(5, _upstream.Received.Count(r => r.Path.EndsWith("/messages", StringComparison.Ordinal) && r.Credential == "at-max"));

                // The poll gives up after its timeout and the next one backs off.
                Assert.True(await AdvanceUntilAsync(() => outcomes.Contains("timeout"), UsagePoller.PollTimeout + TimeSpan.FromSeconds(2)));
                Assert.True(await AdvanceUntilAsync(() => PollsOf("at-max").Count == 2, TimeSpan.FromSeconds(Interval * 3)));
                AssertAt(FirstPoll + UsagePoller.PollTimeout.TotalSeconds + Interval * 2.05, PollsOf("at-max")[1], chain: 2);
            }
            finally
            {
                release.TrySetResult();
            }
        }
    }

    [Fact]
    public async Task A_configured_usage_url_is_used_and_an_empty_one_turns_the_provider_off()
    {
        RecordPolls();
        await using var host = await StartHostAsync(random: () => 0.5, configure: options =>
        {
            options.Providers["claude-code"].UsageUrl = _upstream.BaseUrl + "/gateway/anthropic/api/oauth/usage";
            options.Providers["codex"].UsageUrl = "";
        });
        await AddOAuthAccountAsync(host, "max", "claude-code", "at-max");
        await AddOAuthAccountAsync(host, "chatgpt", "codex", "codex-at");

        Assert.True(await AdvanceUntilAsync(() => PollsOf("at-max").Count >= 2, TimeSpan.FromSeconds(Interval * 4)));

        Assert.All(_polls.Where(p => p.Token == "at-max"), p => Assert.Equal("/gateway/anthropic/api/oauth/usage", p.Path));
        Assert.Empty(PollsOf("codex-at"));
        Assert.NotNull(UsageOf(host, "max"));
    }

    public static TheoryData<string, string, string> InvalidConfiguration => new()
    {
        { "Ccflare:Usage:PollIntervalSeconds", "-1", "Ccflare:Usage:PollIntervalSeconds must be 0 (off) or from 10 to 86400 (was -1)" },
        { "Ccflare:Usage:PollIntervalSeconds", "5", "Ccflare:Usage:PollIntervalSeconds must be 0 (off) or from 10 to 86400 (was 5)" },
        { "Ccflare:Usage:PollIntervalSeconds", "86401", "Ccflare:Usage:PollIntervalSeconds must be 0 (off) or from 10 to 86400 (was 86401)" },
        { "Ccflare:Providers:claude-code:UsageUrl", "ftp://usage.example/oauth/usage", "Ccflare:Providers:claude-code:UsageUrl must be an absolute http or https URL" },
        { "Ccflare:Providers:codex:UsageUrl", "https://usage.example/wham/usage?x=1", "Ccflare:Providers:codex:UsageUrl must be an absolute http or https URL" },
        { "Ccflare:Providers:anthropic:UsageUrl", "https://usage.example/oauth/usage", "Ccflare:Providers:anthropic:UsageUrl applies only to providers whose OAuth accounts have a usage endpoint (claude-code, codex)" },
    };

    [Theory]
    [MemberData(nameof(InvalidConfiguration))]
    public async Task Bad_configuration_stops_start_up_naming_the_key(string key, string value, string expected)
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => CcflareTestHost.StartAsync(
            host: b => b.Configuration.AddInMemoryCollection([new KeyValuePair<string, string?>(key, value)])));

        Assert.Contains(failure.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_usage_url_on_a_provider_defined_by_configuration_is_refused()
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => CcflareTestHost.StartAsync(options =>
            options.Providers["zai"] = new ProviderOptions { Family = "anthropic", BaseUrl = "https://api.z.ai/api/anthropic", UsageUrl = "https://api.z.ai/usage" }));

        Assert.Contains(failure.Failures, f => f.StartsWith("Ccflare:Providers:zai:UsageUrl applies only", StringComparison.Ordinal));
    }

    /// <summary>The <c>outcome</c> tags of <c>ccflare.usage.polls</c> measurements, from the hosts this test starts.</summary>
    private static ConcurrentQueue<string> ListenToPollOutcomes(out MeterListener listener)
    {
        var outcomes = new ConcurrentQueue<string>();
        listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Ccflare" && instrument.Name == "ccflare.usage.polls")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome" && tag.Value is string outcome)
                {
                    outcomes.Enqueue(outcome);
                }
            }
        });
        listener.Start();
        return outcomes;
    }
}
