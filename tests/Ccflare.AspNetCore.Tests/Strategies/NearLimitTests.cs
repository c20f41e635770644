using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Strategies;
using Ccflare.Tests.Infrastructure;
using Ccflare.Tests.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using static Ccflare.Tests.Strategies.PriorityLevelTests;

namespace Ccflare.Tests.Strategies;

/// <summary>An account near its usage limit is a last resort; family-scoped windows bind only their family's models.</summary>
public sealed class NearLimitTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private static AccountState Account(string name, int priority, int minutesOld, params UsageWindow[] windows) =>
        Account(name, priority, minutesOld, windows.Length == 0 ? null : new AccountUsage { UpdatedAt = Now.AddMinutes(-1), Windows = windows });

    private static AccountState Account(string name, int priority, int minutesOld, AccountUsage? usage) =>
        new(new Account { Id = name, Name = name, Provider = "anthropic", CreatedAt = Now.AddMinutes(-minutesOld), Priority = priority, Usage = usage });

    private static UsageWindow FiveHour(double utilization, TimeSpan? resetIn = null, string? status = null) =>
        new("five_hour", 300, utilization, Now + (resetIn ?? TimeSpan.FromHours(1)), status);

    private static List<string> Ordered(List<AccountState> candidates, string? model = null, string strategy = "session")
    {
        Order(Ordering(), Strategy(strategy), candidates, model);
        return [.. candidates.Select(c => c.Name)];
    }

    [Theory]
    [MemberData(nameof(StrategyNames), MemberType = typeof(PriorityLevelTests))]
    public void A_near_limit_account_goes_last_even_behind_lower_levels(string strategy)
    {
        var ordered = Ordered([Account("full", 0, 30, FiveHour(0.97)), Account("fresh", 0, 20, FiveHour(0.2)), Account("spare", 1, 10)], strategy: strategy);

        Assert.Equal(["fresh", "spare", "full"], ordered);
    }

    [Theory]
    [InlineData(0.95, null, true)]
    [InlineData(0.949, null, false)]
    [InlineData(0.1, "rejected", true)]
    [InlineData(0.1, "allowed_warning", false)]
    public void The_switch_threshold_and_a_rejected_window_mark_an_account_near_its_limit(double utilization, string? status, bool near)
    {
        var ordered = Ordered([Account("watched", 0, 30, FiveHour(utilization, status: status)), Account("other", 0, 20)], strategy: "least-requests");

        Assert.Equal(near ? "other" : "watched", ordered[0]);
    }

    [Fact]
    public void A_window_whose_reset_passed_has_headroom_again() =>
        Assert.Equal("watched", Ordered([Account("watched", 0, 30, FiveHour(1, resetIn: TimeSpan.FromSeconds(-1))), Account("spare", 1, 20)])[0]);

    [Fact]
    public void A_full_window_without_a_reset_is_trusted_for_its_own_length()
    {
        var usage = new AccountUsage { UpdatedAt = Now.AddMinutes(-299), Windows = [new UsageWindow("five_hour", 300, 1, null, null)] };
        Assert.Equal("spare", Ordered([Account("watched", 0, 30, usage), Account("spare", 1, 20)])[0]);

        var older = usage with { UpdatedAt = Now.AddMinutes(-300) };
        Assert.Equal("watched", Ordered([Account("watched", 0, 30, older), Account("spare", 1, 20)])[0]);
    }

    [Fact]
    public void When_every_account_is_near_its_limit_the_most_preferred_is_still_tried()
    {
        var ordered = Ordered([Account("spare", 1, 10, FiveHour(0.99)), Account("main", 0, 30, FiveHour(0.98))]);

        Assert.Equal(["main", "spare"], ordered);
    }

    [Theory]
    [InlineData("claude-opus-4-1-20250805", "sonnet-user")]
    [InlineData("claude-sonnet-4-5", "opus-user")]
    [InlineData(null, "opus-user")]
    public void A_family_window_binds_only_requests_for_that_family(string? model, string first)
    {
        var opusFull = new UsageWindow("seven_day_opus", 10080, 1, Now.AddDays(1), "rejected");
        var ordered = Ordered([Account("opus-user", 0, 30, opusFull, FiveHour(0.3)), Account("sonnet-user", 0, 20, FiveHour(0.5))], model, "least-requests");

        Assert.Equal(first, ordered[0]);
    }

    [Fact]
    public void A_rejected_status_whose_claim_is_a_family_window_binds_only_that_family()
    {
        var usage = new AccountUsage { UpdatedAt = Now, Status = "rejected", ResetsAt = Now.AddDays(1), RepresentativeClaim = "seven_day_sonnet" };

        Assert.Equal("limited", Ordered([Account("limited", 0, 30, usage), Account("spare", 1, 20)], "gpt-5")[0]);
        Assert.Equal("spare", Ordered([Account("limited", 0, 30, usage), Account("spare", 1, 20)], "claude-sonnet-4-5")[0]);
    }

    [Fact]
    public void An_exhausted_overage_pool_leaves_an_account_with_plan_headroom_first()
    {
        var usage = new AccountUsage { UpdatedAt = Now, Status = "allowed", Windows = [FiveHour(0.5)], Overage = new UsageOverage("rejected", null) };

        Assert.Equal("main", Ordered([Account("main", 0, 30, usage), Account("spare", 1, 20)])[0]);
    }

    [Fact]
    public void Passing_over_a_near_limit_account_is_reported_as_a_preemptive_switch()
    {
        var ordering = Ordering();

        Assert.True(Order(ordering, Strategy("session"), [Account("full", 0, 30, FiveHour(0.99)), Account("spare", 1, 20)]));
        Assert.False(Order(ordering, Strategy("session"), [Account("fresh", 0, 30, FiveHour(0.5)), Account("spare", 1, 20)]));
        Assert.False(Order(ordering, Strategy("session"), [Account("main", 0, 30, FiveHour(0.5)), Account("spare-full", 1, 20, FiveHour(0.99))]));
    }

    [Fact]
    public void Ordering_changes_nothing_and_logs_nothing()
    {
        var capture = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(capture));
        var ordering = Ordering(returnToPreferred: true, out _, loggers);

        Order(ordering, Strategy("session"), [Account("full", 0, 30, FiveHour(0.99)), Account("spare", 1, 20)]);

        Assert.DoesNotContain(capture.Lines, l => l.Contains("NearLimitPolicy", StringComparison.Ordinal));
    }

    [Fact]
    public void Becoming_near_the_limit_and_regaining_headroom_are_logged_once_each()
    {
        var capture = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(capture));
        Ordering(returnToPreferred: true, out var policy, loggers);
        var full = Account("full", 0, 30, FiveHour(0.99));
        var fresh = new AccountUsage { UpdatedAt = Now, Windows = [FiveHour(0.1)] };

        policy.Observe(full);
        policy.Observe(full);
        full.Replace(full.Snapshot with { Usage = fresh });
        policy.Observe(full);
        policy.Observe(full);

        var lines = capture.Lines.Where(l => l.Contains("NearLimitPolicy", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.Contains("[500]", lines[0], StringComparison.Ordinal);
        Assert.Contains("Account=full", lines[0], StringComparison.Ordinal);
        Assert.Contains("Window=five_hour", lines[0], StringComparison.Ordinal);
        Assert.Contains("[501]", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void The_return_to_headroom_is_logged_when_the_window_resets_by_the_clock()
    {
        var capture = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(capture));
        var time = new FakeTimeProvider(Now);
        Ordering(returnToPreferred: true, out var policy, loggers, time);
        var full = Account("full", 0, 30, FiveHour(0.99, resetIn: TimeSpan.FromMinutes(10)));

        policy.Observe(full);
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.Single(capture.Lines, l => l.Contains("NearLimitPolicy", StringComparison.Ordinal));

        time.Advance(TimeSpan.FromMinutes(1));
        var lines = capture.Lines.Where(l => l.Contains("NearLimitPolicy", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.Contains("[501]", lines[1], StringComparison.Ordinal);
        Assert.Contains("Account=full", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_rejected_status_without_a_reset_is_logged_once_and_waits_for_a_new_reading()
    {
        var capture = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(capture));
        var time = new FakeTimeProvider(Now);
        Ordering(returnToPreferred: true, out var policy, loggers, time);
        var rejected = Account("rejected", 0, 30, new AccountUsage { UpdatedAt = Now.AddHours(-6), Status = "rejected", RepresentativeClaim = "five_hour" });

        policy.Observe(rejected);
        time.Advance(TimeSpan.FromDays(1));
        policy.Observe(rejected);

        Assert.Single(capture.Lines, l => l.Contains("NearLimitPolicy", StringComparison.Ordinal));
        rejected.Replace(rejected.Snapshot with { Usage = new AccountUsage { UpdatedAt = time.GetUtcNow(), Status = "allowed", Windows = [FiveHour(0.2)] } });
        policy.Observe(rejected);
        Assert.Contains(capture.Lines, l => l.Contains("[501]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_preferred_account_near_its_five_hour_limit_hands_over_to_the_spare_without_a_429_and_takes_over_after_the_reset()
    {
        var time = new FakeTimeProvider(Now);
        await using var upstream = await FakeUpstream.StartAsync();
        await using var host = await CcflareTestHost.StartAsync(time: time);
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var pref = "pref-" + suffix;
        await CreateAsync(host, $$"""{"name":"{{pref}}","provider":"anthropic","api_key":"key-pref","base_url":"{{upstream.BaseUrl}}","priority":0}""");
        await CreateAsync(host, $$"""{"name":"spare-{{suffix}}","provider":"anthropic","api_key":"key-spare","base_url":"{{upstream.BaseUrl}}","priority":1}""");
        var reset = Now.AddSeconds(3).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        upstream.ScriptFor("key-pref", (context, request) =>
        {
            context.Response.Headers["anthropic-ratelimit-unified-status"] = "allowed_warning";
            context.Response.Headers["anthropic-ratelimit-unified-representative-claim"] = "five_hour";
            context.Response.Headers["anthropic-ratelimit-unified-reset"] = reset;
            context.Response.Headers["anthropic-ratelimit-unified-5h-utilization"] = "0.97";
            context.Response.Headers["anthropic-ratelimit-unified-5h-reset"] = reset;
            context.Response.Headers["anthropic-ratelimit-unified-5h-status"] = "allowed_warning";
            context.Response.Headers["anthropic-ratelimit-unified-7d-utilization"] = "0.4";
            context.Response.Headers["anthropic-ratelimit-unified-7d-reset"] = Now.AddDays(3).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            return FakeUpstream.DefaultAsync(context, request);
        });
        var gauge = new ConcurrentDictionary<string, double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Ccflare" && instrument.Name == "ccflare.account.window.utilization")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? account = null, window = null;
            foreach (var tag in tags)
            {
                account = tag.Key == "ccflare.account" ? tag.Value as string : account;
                window = tag.Key == "ccflare.window" ? tag.Value as string : window;
            }
            if (account == pref && window is not null)
            {
                gauge[window] = value;
            }
        });
        listener.Start();
        var switchCounter = host.Services.GetRequiredService<Ccflare.Diagnostics.CcflareMetrics>().PreemptiveSwitches;
        long switches = 0;
        using var switchListener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument, switchCounter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        switchListener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref switches, value));
        switchListener.Start();

        await SendAsync(host);
        Assert.Equal(["key-pref"], upstream.Received.Select(r => r.Credential));

        var accounts = await host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
        var usage = accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == pref).GetProperty("usage");
        Assert.Equal("five_hour", usage.GetProperty("representativeClaim").GetString());
        var windows = usage.GetProperty("windows").EnumerateArray().ToArray();
        Assert.Equal(0.97, windows[0].GetProperty("utilization").GetDouble());
        Assert.Equal(Now.AddSeconds(3), windows[0].GetProperty("resetsAt").GetDateTimeOffset());
        Assert.Equal("seven_day", windows[1].GetProperty("name").GetString());

        listener.RecordObservableInstruments();
        Assert.Equal(0.97, gauge["five_hour"]);
        Assert.Equal(0.4, gauge["seven_day"]);

        await SendAsync(host);
        await SendAsync(host);
        Assert.Equal(["key-pref", "key-spare", "key-spare"], upstream.Received.Select(r => r.Credential));
        Assert.Equal(2, Interlocked.Read(ref switches));

        time.Advance(TimeSpan.FromSeconds(4));
        await SendAsync(host);
        await SendAsync(host);
        Assert.Equal(["key-pref", "key-spare", "key-spare", "key-pref", "key-pref"], upstream.Received.Select(r => r.Credential));
        listener.RecordObservableInstruments();
        Assert.Equal(0, gauge["five_hour"]);
    }

    private static async Task CreateAsync(CcflareTestHost host, string json)
    {
        using var response = await host.Client.PostAsync("/api/accounts", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static async Task SendAsync(CcflareTestHost host)
    {
        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages",
            new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
