using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ccflare.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Ccflare.Dashboard.Tests;

/// <summary>
/// Usage windows in the dashboard, end to end: the fake upstream's responses carry Anthropic's unified
/// rate-limit headers, real proxied requests record them, and headless Chromium shows what
/// <c>GET /api/accounts</c> reports: one bar per window with its percentage and a live countdown, the
/// near-limit badge, the priority edited in place, and the remaining capacity on the overview.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class UsageWindowBrowserTests(BrowserFixture browser)
{
    private const string PrefKey = "sk-ant-pref-usage";
    private const string SpareKey = "sk-ant-spare-usage";

    [Fact]
    public async Task Accounts_page_shows_window_bars_countdowns_near_limit_and_edits_priority()
    {
        // pref's five-hour window is at 97 % and resets shortly, so the test also sees it reset.
        await using var setup = await UsageSetup.StartAsync(prefFiveHourReset: DateTimeOffset.UtcNow.AddSeconds(55));
        await using var tab = await DashboardPage.OpenAsync(browser, setup.Host.BaseUrl + "/accounts");
        var page = tab.Page;

        var pref = page.GetByTestId("account-pref");
        var spare = page.GetByTestId("account-spare");
        await Expect(pref.GetByTestId("window-five_hour").GetByTestId("usage-pct")).ToHaveTextAsync("97%");
        await Expect(pref.GetByTestId("window-seven_day").GetByTestId("usage-pct")).ToHaveTextAsync("40%");
        await Expect(pref.GetByTestId("window-seven_day_opus").GetByTestId("usage-pct")).ToHaveTextAsync("12%");
        await Expect(pref.GetByTestId("window-seven_day_opus")).ToContainTextAsync("reset not reported");
        await Expect(spare.GetByTestId("window-five_hour").GetByTestId("usage-pct")).ToHaveTextAsync("25%");
        await Expect(spare.GetByTestId("window-seven_day").GetByTestId("usage-pct")).ToHaveTextAsync("50%");
        // The bars are meters carrying the same value, and their fill is that share of the track.
        var prefFiveHourBar = pref.GetByTestId("window-five_hour").Locator("[role=meter]");
        await Expect(prefFiveHourBar).ToHaveAttributeAsync("aria-valuenow", "97");
        await Expect(prefFiveHourBar).ToHaveAttributeAsync("class", "usage-bar bad");
        await Expect(spare.GetByTestId("window-five_hour").Locator("[role=meter]")).ToHaveAttributeAsync("class", "usage-bar good");
        var fill = await prefFiveHourBar.Locator("span").EvaluateAsync<double>("e => e.getBoundingClientRect().width / e.parentElement.clientWidth");
        Assert.InRange(fill, 0.95, 0.99);

        // Near limit: the server's decision, shown on pref only.
        await Expect(pref.GetByTestId("near-limit")).ToHaveTextAsync("Near limit: five_hour");
        await Expect(spare.GetByTestId("near-limit")).ToHaveCountAsync(0);

        // Countdowns: the seven-day window resets in three days, the five-hour one in seconds and ticks live.
        await Expect(pref.GetByTestId("window-seven_day").GetByTestId("usage-reset")).ToHaveTextAsync(new Regex("^resets in (2d 23h|3d 0h)$"));
        var countdown = pref.GetByTestId("window-five_hour").GetByTestId("usage-reset");
        await Expect(countdown).ToHaveTextAsync(new Regex(@"^resets in \d+s$"));
        var first = await countdown.TextContentAsync();
        await Expect(countdown).Not.ToHaveTextAsync(first!);
        Assert.True(Seconds(await countdown.TextContentAsync()) < Seconds(first), "the countdown counts down");

        // Priority edited in place: Enter saves it through PATCH /api/accounts/{id}.
        await Expect(page.GetByLabel("Priority of pref", new() { Exact = true })).ToHaveValueAsync("0");
        await Expect(page.GetByLabel("Priority of spare", new() { Exact = true })).ToHaveValueAsync("1");
        await page.GetByLabel("Priority of pref", new() { Exact = true }).FillAsync("3");
        await page.RunAndWaitForResponseAsync(
            () => page.GetByLabel("Priority of pref", new() { Exact = true }).PressAsync("Enter"),
            r => r.Request.Method == "PATCH" && r.Url.Contains("/api/accounts/" + setup.PrefId, StringComparison.Ordinal) && r.Status == 200);
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Account 'pref' updated" })).ToBeVisibleAsync();
        Assert.Equal(3, (await setup.AccountAsync("pref")).GetProperty("priority").GetInt32());
        await Expect(page.GetByLabel("Priority of pref", new() { Exact = true })).ToHaveValueAsync("3");

        // A value the server refuses: its message appears next to the field and nothing changes.
        await page.GetByLabel("Priority of spare", new() { Exact = true }).FillAsync("5000");
        await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Save priority of spare" }).ClickAsync(),
            r => r.Request.Method == "PATCH" && r.Status == 400);
        await Expect(spare.GetByTestId("priority-error")).ToHaveTextAsync("priority must be between 0 (most preferred) and 1000.");
        await Expect(page.GetByLabel("Priority of spare", new() { Exact = true })).ToHaveAttributeAsync("aria-invalid", "true");
        Assert.Equal(1, (await setup.AccountAsync("spare")).GetProperty("priority").GetInt32());
        tab.ExpectHttpError(400, "/api/accounts/" + setup.SpareId);
        await tab.ScreenshotAsync("accounts-usage-windows");

        // When the five-hour window resets the page reads the account again: fresh window, no badge.
        await page.Locator("h1").ClickAsync(); // leave the priority field, as an operator would
        await Expect(pref.GetByTestId("window-five_hour").GetByTestId("usage-pct")).ToHaveTextAsync("0%", new() { Timeout = 90_000 });
        await Expect(pref.GetByTestId("window-five_hour")).ToContainTextAsync("reset not reported");
        await Expect(pref.GetByTestId("near-limit")).ToHaveCountAsync(0);
        await Expect(pref.GetByTestId("window-seven_day").GetByTestId("usage-pct")).ToHaveTextAsync("40%");
        Assert.False((await setup.AccountAsync("pref")).GetProperty("nearLimit").GetBoolean());

        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Overview_shows_remaining_capacity_per_provider()
    {
        await using var setup = await UsageSetup.StartAsync(prefFiveHourReset: DateTimeOffset.UtcNow.AddHours(2));
        await using var tab = await DashboardPage.OpenAsync(browser, setup.Host.BaseUrl + "/");
        var page = tab.Page;

        // What the server computes: pref's fullest all-model window is five_hour at 97 % (headroom 0.03),
        // spare's is seven_day at 50 % (0.5); the opus window does not count.
        Assert.Equal(0.03, (await setup.AccountAsync("pref")).GetProperty("headroom").GetDouble());
        Assert.Equal(0.5, (await setup.AccountAsync("spare")).GetProperty("headroom").GetDouble());
        Assert.Equal(JsonValueKind.Null, (await setup.AccountAsync("gpt")).GetProperty("headroom").ValueKind);

        var capacity = page.GetByRole(AriaRole.Table, new() { Name = "Remaining capacity by provider" });
        var anthropic = capacity.GetByTestId("capacity-anthropic");
        await Expect(anthropic.GetByTestId("capacity-remaining")).ToHaveTextAsync("0.53 of 2 accounts");
        await Expect(anthropic.GetByTestId("capacity-mean")).ToHaveTextAsync("26.5%");
        await Expect(anthropic.GetByTestId("capacity-near-limit")).ToHaveTextAsync("1");
        // The paused anthropic account is left out, so every counted account reports usage.
        await Expect(anthropic.GetByTestId("capacity-unknown")).ToHaveTextAsync("0");
        var openai = capacity.GetByTestId("capacity-openai");
        await Expect(openai.GetByTestId("capacity-remaining")).ToHaveTextAsync("–");
        await Expect(openai.GetByTestId("capacity-unknown")).ToHaveTextAsync("1");
        await Expect(page.GetByText("the free share (1 − utilization) of its fullest usage window that limits every model", new() { Exact = false })).ToBeVisibleAsync();

        // The per-account table carries the near-limit badge too.
        var limits = page.GetByRole(AriaRole.Table, new() { Name = "Rate limits by account" });
        await Expect(limits.Locator("tr", new() { HasText = "pref" }).GetByTestId("near-limit")).ToHaveTextAsync("Near limit: five_hour");
        await Expect(limits.Locator("tr", new() { HasText = "spare" }).GetByTestId("near-limit")).ToHaveCountAsync(0);

        await tab.ScreenshotAsync("overview-capacity");
        tab.AssertNoErrors();
    }

    private static int Seconds(string? countdown) =>
        int.Parse(Regex.Match(countdown ?? "", @"(\d+)s$").Groups[1].Value, CultureInfo.InvariantCulture);

    /// <summary>
    /// A real Ccflare with two anthropic accounts whose fake-upstream responses report usage windows
    /// (<c>pref</c>, priority 0, near its limit; <c>spare</c>, priority 1), an openai account that reports
    /// none, and a paused anthropic account. One request each has gone through the proxy.
    /// </summary>
    private sealed class UsageSetup : IAsyncDisposable
    {
        private UsageSetup(FakeUpstream upstream, CcflareTestHost host)
        {
            Upstream = upstream;
            Host = host;
        }

        public FakeUpstream Upstream { get; }

        public CcflareTestHost Host { get; }

        public string PrefId { get; private set; } = "";

        public string SpareId { get; private set; } = "";

        public static async Task<UsageSetup> StartAsync(DateTimeOffset prefFiveHourReset)
        {
            var upstream = await FakeUpstream.StartAsync();
            var setup = new UsageSetup(upstream, await CcflareTestHost.StartAsync());
            var now = DateTimeOffset.UtcNow;
            ReportUsage(upstream, PrefKey,
                ("anthropic-ratelimit-unified-status", "allowed_warning"),
                ("anthropic-ratelimit-unified-reset", Epoch(prefFiveHourReset)),
                ("anthropic-ratelimit-unified-representative-claim", "five_hour"),
                ("anthropic-ratelimit-unified-5h-status", "allowed_warning"),
                ("anthropic-ratelimit-unified-5h-reset", Epoch(prefFiveHourReset)),
                ("anthropic-ratelimit-unified-5h-utilization", "0.97"),
                ("anthropic-ratelimit-unified-7d-status", "allowed"),
                ("anthropic-ratelimit-unified-7d-reset", Epoch(now.AddDays(3))),
                ("anthropic-ratelimit-unified-7d-utilization", "0.4"),
                ("anthropic-ratelimit-unified-7d_opus-status", "allowed"),
                ("anthropic-ratelimit-unified-7d_opus-utilization", "0.12"));
            ReportUsage(upstream, SpareKey,
                ("anthropic-ratelimit-unified-status", "allowed"),
                ("anthropic-ratelimit-unified-representative-claim", "seven_day"),
                ("anthropic-ratelimit-unified-5h-status", "allowed"),
                ("anthropic-ratelimit-unified-5h-reset", Epoch(now.AddHours(4))),
                ("anthropic-ratelimit-unified-5h-utilization", "0.25"),
                ("anthropic-ratelimit-unified-7d-status", "allowed"),
                ("anthropic-ratelimit-unified-7d-reset", Epoch(now.AddDays(5))),
                ("anthropic-ratelimit-unified-7d-utilization", "0.5"));

            setup.PrefId = await setup.AddAsync("pref", "anthropic", PrefKey, upstream.BaseUrl, priority: 0);
            setup.SpareId = await setup.AddAsync("spare", "anthropic", SpareKey, upstream.BaseUrl, priority: 1);
            await setup.AddAsync("gpt", "openai", "sk-openai-usage", upstream.OpenAIBaseUrl, priority: 0);
            var idle = await setup.AddAsync("idle", "anthropic", "sk-ant-idle-usage", upstream.BaseUrl, priority: 2);
            (await setup.Host.Client.PostAsync($"/api/accounts/{idle}/pause", null)).EnsureSuccessStatusCode();

            // The first request goes to the preferred account, which then reports it is near its limit,
            // so the second goes to spare.
            await setup.SendAsync();
            await setup.SendAsync();
            Assert.Equal([PrefKey, SpareKey], upstream.Received.Select(r => r.Credential));
            return setup;
        }

        public async Task<JsonElement> AccountAsync(string name)
        {
            var accounts = await Host.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
            return accounts.EnumerateArray().Single(a => a.GetProperty("name").GetString() == name);
        }

        private async Task<string> AddAsync(string name, string provider, string key, string baseUrl, int priority)
        {
            using var response = await Host.Client.PostAsJsonAsync("/api/accounts", new { name, provider, api_key = key, base_url = baseUrl, priority });
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("account").GetProperty("id").GetString()!;
        }

        private async Task SendAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
            {
                Content = new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("anthropic-version", "2023-06-01");
            using var response = await Host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
        }

        private static void ReportUsage(FakeUpstream upstream, string key, params (string Name, string Value)[] headers) =>
            upstream.ScriptFor(key, (context, request) =>
            {
                foreach (var (name, value) in headers)
                {
                    context.Response.Headers[name] = value;
                }
                return FakeUpstream.DefaultAsync(context, request);
            });

        private static string Epoch(DateTimeOffset when) => when.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }
}
