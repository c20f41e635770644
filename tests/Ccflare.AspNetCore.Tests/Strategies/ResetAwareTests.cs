using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Strategies;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static Ccflare.Tests.Strategies.PriorityLevelTests;

namespace Ccflare.Tests.Strategies;

/// <summary>The <c>reset-aware</c> strategy drains the window that resets soonest and keeps a session on its account while it has headroom.</summary>
public sealed class ResetAwareTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);

    private DateTimeOffset Now => _time.GetUtcNow();

    private AccountState Account(string name, int minutesOld, AccountUsage? usage = null, int priority = 0, DateTimeOffset? session = null) =>
        new(new Account
        {
            Id = name,
            Name = name,
            Provider = "anthropic",
            CreatedAt = Start.AddMinutes(-minutesOld),
            Priority = priority,
            Usage = usage,
            SessionStart = session,
        });

    private AccountUsage FiveHour(double utilization, TimeSpan resetIn, string? claim = "five_hour") => new()
    {
        UpdatedAt = Now,
        RepresentativeClaim = claim,
        Windows = [new UsageWindow("five_hour", 300, utilization, Now + resetIn, "allowed")],
    };

    private List<string> Ordered(params AccountState[] accounts)
    {
        List<AccountState> candidates = [.. accounts];
        var model = new RequestModel("claude-sonnet-4-5", default);
        Ordering(returnToPreferred: true, out _, time: _time)
            .Order(new ResetAwareStrategy(), new LoadBalancingContext(new DefaultHttpContext(), "anthropic", Now, TimeSpan.FromHours(5)), candidates, ref model);
        return [.. candidates.Select(c => c.Name)];
    }

    [Fact]
    public void The_window_that_resets_soonest_goes_first()
    {
        var ordered = Ordered(
            Account("late", 30, FiveHour(0.2, TimeSpan.FromHours(4))),
            Account("soonest", 20, FiveHour(0.7, TimeSpan.FromMinutes(20))),
            Account("middle", 10, FiveHour(0.1, TimeSpan.FromHours(2))));

        Assert.Equal(["soonest", "middle", "late"], ordered);
    }

    [Fact]
    public void Equal_resets_go_to_the_lower_utilization_first()
    {
        var reset = TimeSpan.FromHours(1);

        var ordered = Ordered(Account("fuller", 30, FiveHour(0.8, reset)), Account("emptier", 20, FiveHour(0.3, reset)), Account("later", 10, FiveHour(0.1, reset + TimeSpan.FromSeconds(1))));

        Assert.Equal(["emptier", "fuller", "later"], ordered);
    }

    [Fact]
    public void Accounts_with_fresh_windows_follow_pending_resets_and_accounts_without_usage_come_last()
    {
        var expired = FiveHour(0.9, TimeSpan.FromMinutes(5));
        _time.Advance(TimeSpan.FromMinutes(6));

        var ordered = Ordered(Account("no-usage", 40), Account("reset-passed", 30, expired), Account("pending", 20, FiveHour(0.4, TimeSpan.FromHours(3))));

        Assert.Equal(["pending", "reset-passed", "no-usage"], ordered);
    }

    [Fact]
    public void The_representative_claim_names_the_binding_window()
    {
        var weekBound = new AccountUsage
        {
            UpdatedAt = Now,
            RepresentativeClaim = "seven_day",
            Windows =
            [
                new UsageWindow("five_hour", 300, 0.1, Now.AddMinutes(10), "allowed"),
                new UsageWindow("seven_day", 10080, 0.6, Now.AddDays(3), "allowed"),
            ],
        };

        Assert.Equal(["five-hour-bound", "week-bound"], Ordered(Account("week-bound", 30, weekBound), Account("five-hour-bound", 20, FiveHour(0.5, TimeSpan.FromHours(4)))));
    }

    [Fact]
    public void Without_a_claim_the_most_utilized_window_binds_and_family_windows_do_not()
    {
        var codex = new AccountUsage
        {
            UpdatedAt = Now,
            Windows =
            [
                new UsageWindow("primary", 300, 0.2, Now.AddMinutes(30), null),
                new UsageWindow("secondary", 10080, 0.7, Now.AddDays(2), null),
            ],
        };
        var opusSoon = new AccountUsage
        {
            UpdatedAt = Now,
            Windows =
            [
                new UsageWindow("five_hour", 300, 0.1, Now.AddHours(4), "allowed"),
                new UsageWindow("seven_day_opus", 10080, 0.9, Now.AddMinutes(1), "allowed"),
            ],
        };

        Assert.Equal(["other", "codex"], Ordered(Account("codex", 30, codex), Account("other", 20, FiveHour(0.3, TimeSpan.FromDays(1), claim: null))));
        Assert.Equal(["five-hour-soon", "opus-soon"], Ordered(Account("opus-soon", 30, opusSoon), Account("five-hour-soon", 20, FiveHour(0.3, TimeSpan.FromHours(1)))));
    }

    [Fact]
    public void A_session_stays_on_its_account_below_the_threshold_and_leaves_it_above()
    {
        var sessionStart = Now.AddMinutes(-10);
        var sessionAccount = Account("session", 30, FiveHour(0.5, TimeSpan.FromHours(4)), session: sessionStart);
        var soon = Account("soon", 20, FiveHour(0.3, TimeSpan.FromMinutes(30)));

        Assert.Equal(["session", "soon"], Ordered(sessionAccount, soon));

        sessionAccount.Replace(sessionAccount.Snapshot with { Usage = FiveHour(0.95, TimeSpan.FromHours(4)) });
        Assert.Equal(["soon", "session"], Ordered(sessionAccount, soon));

        // Once the session is older than the session duration, the soonest reset wins again.
        _time.Advance(TimeSpan.FromHours(5));
        sessionAccount.Replace(sessionAccount.Snapshot with { Usage = FiveHour(0.5, TimeSpan.FromHours(4)) });
        soon.Replace(soon.Snapshot with { Usage = FiveHour(0.3, TimeSpan.FromMinutes(30)) });
        Assert.Equal(["soon", "session"], Ordered(sessionAccount, soon));
    }

    [Fact]
    public void Priority_levels_come_before_the_reset_and_near_limit_accounts_come_last()
    {
        var ordered = Ordered(
            Account("spare-soonest", 50, FiveHour(0.1, TimeSpan.FromMinutes(5)), priority: 1),
            Account("main-late", 40, FiveHour(0.2, TimeSpan.FromHours(4))),
            Account("main-full", 30, FiveHour(0.97, TimeSpan.FromMinutes(1))),
            Account("main-soon", 20, FiveHour(0.6, TimeSpan.FromHours(1))));

        Assert.Equal(["main-soon", "main-late", "spare-soonest", "main-full"], ordered);
    }

    [Fact]
    public async Task Through_the_proxy_it_drains_the_sooner_window_and_hands_over_before_the_limit()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync(o => o.SessionDurationMs = 1_000, time: _time);
        using (var strategy = await host.Client.PostAsJsonAsync("/api/config/strategy", new { strategy = "reset-aware" }))
        {
            Assert.Equal(HttpStatusCode.OK, strategy.StatusCode);
        }
        Assert.Equal("reset-aware", (await host.Client.GetFromJsonAsync<JsonElement>("/api/config/strategy")).GetProperty("strategy").GetString());
        var late = await host.AddAccountAsync("late", "anthropic", "key-late", upstream.BaseUrl);
        _time.Advance(TimeSpan.FromSeconds(1));
        await host.AddAccountAsync("soon", "anthropic", "key-soon", upstream.BaseUrl);
        var soonUtilization = "0.5";
        ReportFiveHour(upstream, "key-late", () => "0.2", Start.AddHours(4));
        ReportFiveHour(upstream, "key-soon", () => soonUtilization, Start.AddMinutes(30));

        await SendAsync(host);                       // no usage known yet: the first added
        using (await host.Client.PostAsync($"/api/accounts/{late}/pause", null))
        {
        }
        await SendAsync(host);                       // the only usable account
        using (await host.Client.PostAsync($"/api/accounts/{late}/resume", null))
        {
        }
        _time.Advance(TimeSpan.FromSeconds(2));      // past the session duration: the soonest reset wins
        await SendAsync(host);
        soonUtilization = "0.96";
        _time.Advance(TimeSpan.FromSeconds(2));
        await SendAsync(host);                       // reports the window near full
        await SendAsync(host);                       // handed over before the limit
        await SendAsync(host);

        Assert.Equal(["key-late", "key-soon", "key-soon", "key-soon", "key-late", "key-late"], upstream.Received.Select(r => r.Credential));
    }

    private static void ReportFiveHour(FakeUpstream upstream, string key, Func<string> utilization, DateTimeOffset resetsAt)
    {
        var reset = resetsAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        upstream.ScriptFor(key, (context, request) =>
        {
            context.Response.Headers["anthropic-ratelimit-unified-status"] = "allowed";
            context.Response.Headers["anthropic-ratelimit-unified-representative-claim"] = "five_hour";
            context.Response.Headers["anthropic-ratelimit-unified-reset"] = reset;
            context.Response.Headers["anthropic-ratelimit-unified-5h-utilization"] = utilization();
            context.Response.Headers["anthropic-ratelimit-unified-5h-reset"] = reset;
            context.Response.Headers["anthropic-ratelimit-unified-5h-status"] = "allowed";
            return FakeUpstream.DefaultAsync(context, request);
        });
    }

    private static async Task SendAsync(CcflareTestHost host)
    {
        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages",
            new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
