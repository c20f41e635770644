using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Ccflare.Retention;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Ccflare.Dashboard.Tests;

/// <summary>
/// The dashboard in real headless Chromium against a real Kestrel Ccflare (the real management
/// endpoints, no stand-ins) with 10,000 requests seeded into its store and a fake upstream. Every test fails on any console error, page error or failed
/// HTTP response, and saves a screenshot under TestResults/screenshots.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardBrowserTests(BrowserFixture browser)
{
    [Fact]
    public async Task Overview_shows_seeded_stats_charts_rate_limits_and_saves_retention()
    {
        await using var host = await DashboardHost.StartAsync();
        await using var tab = await DashboardPage.OpenAsync(browser, host.DashboardUrl);
        var page = tab.Page;

        // What the real GET /api/stats computes from the seeded history (rates are percentages).
        var stats = await host.GetJsonAsync("/api/stats");
        Assert.Equal(10_000, stats.GetProperty("totalRequests").GetInt64());
        Assert.Equal(95, stats.GetProperty("successRate").GetDouble());
        Assert.Equal(1_500_000, stats.GetProperty("totalTokens").GetInt64());
        Assert.Equal(125m, stats.GetProperty("totalCostUsd").GetDecimal());
        Assert.Equal(2, stats.GetProperty("activeAccounts").GetInt32()); // alpha and beta have served requests, gamma none
        Assert.Equal(695, stats.GetProperty("avgResponseTime").GetDouble());

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("stat-total-requests").Locator(".metric-value")).ToHaveTextAsync("10,000");
        await Expect(page.GetByTestId("stat-success-rate").Locator(".metric-value")).ToHaveTextAsync("95%");
        await Expect(page.GetByTestId("stat-total-tokens").Locator(".metric-value")).ToHaveTextAsync("1,500,000");
        await Expect(page.GetByTestId("stat-total-cost").Locator(".metric-value")).ToHaveTextAsync("$125.00");
        await Expect(page.GetByTestId("stat-active-accounts").Locator(".metric-value")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("stat-avg-response").Locator(".metric-value")).ToHaveTextAsync("695 ms");
        // Anthropic rows at 50 tok/s, OpenAI rows at 80: mean 57.5.
        await Expect(page.GetByTestId("stat-token-speed").Locator(".metric-value")).ToHaveTextAsync("57.5 tok/s");
        // The write path's counters (history was seeded into the store directly, so nothing went through it).
        Assert.Equal(0, stats.GetProperty("writeQueue").GetProperty("written").GetInt64());
        await Expect(page.GetByTestId("write-queue").Locator("dd")).ToHaveTextAsync(["0", "0", "0", "0", "0"]);
        // ccflare's recentErrors: every 20th seeded row failed, so the latest 200 rows hold 10 failures, all listed.
        var recentErrors = stats.GetProperty("recentErrors").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(Enumerable.Repeat("Upstream returned 500", 10), recentErrors);
        await Expect(page.GetByRole(AriaRole.List, new() { Name = "Recent errors" }).Locator("li")).ToHaveCountAsync(10);
        await Expect(page.GetByRole(AriaRole.List, new() { Name = "Recent errors" }).Locator("li").First).ToHaveTextAsync("Upstream returned 500");

        // Four uPlot charts drawn on canvas.
        await Expect(page.Locator("figure.chart canvas")).ToHaveCountAsync(4);
        await Expect(page.Locator("figure.chart figcaption")).ToHaveTextAsync(["Request volume", "Response time", "Token usage", "Cost"]);

        // Rate-limit state per account (gamma's limit ends 42 minutes after seeding).
        var limits = page.GetByRole(AriaRole.Table, new() { Name = "Rate limits by account" });
        await Expect(limits.Locator("tr", new() { HasText = "gamma" })).ToContainTextAsync("Limited (rate_limited)");
        await Expect(limits.Locator("tr", new() { HasText = "gamma" })).ToContainTextAsync(new Regex("resets in 4[12]m \\d+s"));
        await Expect(limits.Locator("tr", new() { HasText = "alpha" })).ToContainTextAsync("1,234 remaining");

        // Top models.
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Top models" })).ToContainTextAsync("claude-sonnet-4");

        // Range selector reloads the charts for the chosen range.
        await page.RunAndWaitForResponseAsync(
            () => page.GetByLabel("Time range").SelectOptionAsync("7d"),
            r => r.Url.Contains("api/analytics?range=7d", StringComparison.Ordinal) && r.Status == 200);
        await Expect(page.Locator("figure.chart canvas")).ToHaveCountAsync(4);

        // Retention: the real endpoint's defaults, saved through the UI, persisted as store settings.
        await Expect(page.GetByLabel("Keep payloads (days)")).ToHaveValueAsync("7");
        await Expect(page.GetByLabel("Keep request history (days)")).ToHaveValueAsync("30");
        await page.GetByLabel("Keep payloads (days)").FillAsync("3");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save retention" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Retention saved: payloads 3 days, request history 30 days" })).ToBeVisibleAsync();
        var retention = await host.GetJsonAsync("/api/config/retention");
        Assert.Equal(3, retention.GetProperty("payloadDays").GetInt32());
        Assert.Equal(30, retention.GetProperty("requestDays").GetInt32());
        var settings = await host.Host.Services.GetRequiredService<ICcflareStore>().GetSettingsAsync(CancellationToken.None);
        Assert.Equal("3", settings[RetentionSettings.PayloadDaysKey]);
        Assert.Equal("30", settings[RetentionSettings.RequestDaysKey]);
        await page.ReloadAsync();
        await Expect(page.GetByLabel("Keep payloads (days)")).ToHaveValueAsync("3");

        await tab.ScreenshotAsync("overview");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Accounts_add_by_api_key_pause_resume_weight_delete_and_start_oauth()
    {
        await using var host = await DashboardHost.StartAsync(seededRequests: 50);
        await using var tab = await DashboardPage.OpenAsync(browser, host.DashboardUrl);
        var page = tab.Page;

        await page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(host.DashboardUrl + "accounts");
        var table = page.GetByRole(AriaRole.Table, new() { Name = "Accounts" });
        await Expect(table.Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("account-gamma")).ToContainTextAsync("Limited (rate_limited)");
        await Expect(page.GetByTestId("account-alpha")).ToContainTextAsync("valid");

        // Add through the form.
        var form = page.GetByRole(AriaRole.Form, new() { Name = "Add account with API key" });
        await form.GetByLabel("Account name").FillAsync("delta");
        await form.GetByLabel("Provider").SelectOptionAsync("openai");
        await form.GetByLabel("API key").FillAsync("sk-openai-delta");
        await form.GetByLabel("Base URL (optional)").FillAsync(host.Upstream.OpenAIBaseUrl);
        await form.GetByLabel("Weight").FillAsync("2");
        await form.GetByRole(AriaRole.Button, new() { Name = "Add account" }).ClickAsync();
        var delta = page.GetByTestId("account-delta");
        await Expect(delta).ToBeVisibleAsync();
        await Expect(delta.GetByTestId("account-status")).ToHaveTextAsync("Active");
        var created = (await host.GetJsonAsync("/api/accounts")).EnumerateArray().Single(a => a.GetProperty("name").GetString() == "delta");
        Assert.Equal("openai", created.GetProperty("provider").GetString());
        Assert.Equal(2, created.GetProperty("weight").GetInt32());

        // Pause and resume.
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause delta" }).ClickAsync();
        await Expect(delta.GetByTestId("account-status")).ToHaveTextAsync("Paused");
        Assert.True(await AccountFlagAsync(host, "delta", "paused"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Resume delta" }).ClickAsync();
        await Expect(delta.GetByTestId("account-status")).ToHaveTextAsync("Active");
        Assert.False(await AccountFlagAsync(host, "delta", "paused"));

        // Weight.
        await page.GetByRole(AriaRole.Spinbutton, new() { Name = "Weight of delta", Exact = true }).FillAsync("5");
        await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Save weight of delta" }).ClickAsync(),
            r => r.Request.Method == "PATCH" && r.Url.Contains("/api/accounts/", StringComparison.Ordinal) && r.Status == 200);
        Assert.Equal(5, (await host.GetJsonAsync("/api/accounts")).EnumerateArray().Single(a => a.GetProperty("name").GetString() == "delta").GetProperty("weight").GetInt32());

        // Rename through the dialog.
        await page.GetByRole(AriaRole.Button, new() { Name = "Rename delta" }).ClickAsync();
        var rename = page.GetByRole(AriaRole.Dialog, new() { Name = "Rename delta" });
        await rename.GetByLabel("New name").FillAsync("delta-2");
        await rename.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Expect(page.GetByTestId("account-delta-2")).ToBeVisibleAsync();

        // OAuth: init returns the sign-in URL, then the paste-the-code step appears.
        var oauth = page.GetByRole(AriaRole.Form, new() { Name = "Add account with OAuth" });
        await oauth.GetByLabel("Account name").FillAsync("subscription");
        await oauth.GetByRole(AriaRole.Button, new() { Name = "Start sign-in" }).ClickAsync();
        var complete = page.GetByRole(AriaRole.Form, new() { Name = "Complete OAuth sign-in" });
        await Expect(complete.GetByRole(AriaRole.Link, new() { Name = "Open sign-in page" })).ToHaveAttributeAsync("href", new Regex("^https://claude\\.ai/oauth/authorize"));
        await Expect(complete.GetByLabel("Authorization code")).ToBeVisibleAsync();
        var authUrl = await complete.GetByRole(AriaRole.Link, new() { Name = "Open sign-in page" }).GetAttributeAsync("href");
        Assert.Contains("code_challenge_method=S256", authUrl);

        await tab.ScreenshotAsync("accounts");

        // Delete with confirmation.
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete delta-2" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Delete delta-2?" });
        await Expect(confirm).ToBeVisibleAsync();
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Expect(page.GetByTestId("account-delta-2")).ToHaveCountAsync(0);
        Assert.DoesNotContain((await host.GetJsonAsync("/api/accounts")).EnumerateArray(), a => a.GetProperty("name").GetString() == "delta-2");

        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Requests_list_pages_10000_rows_shows_a_new_request_live_and_its_conversation()
    {
        await using var host = await DashboardHost.StartAsync();
        await using var tab = await DashboardPage.OpenAsync(browser, host.DashboardUrl + "requests");
        var page = tab.Page;

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Requests", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("request-count")).ToHaveTextAsync("500 of 500 loaded requests");
        await Expect(page.GetByTestId("page-indicator")).ToHaveTextAsync("Page 1 of 10");
        var rows = page.GetByRole(AriaRole.Table, new() { Name = "Requests" }).Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(50);
        // "live" only once the server has registered the page's stream subscription.
        await Expect(page.GetByTestId("live-state")).ToHaveTextAsync("live");

        // Load all 1,000 the API allows and page through them.
        await page.GetByLabel("Load last").SelectOptionAsync("1000");
        await Expect(page.GetByTestId("page-indicator")).ToHaveTextAsync("Page 1 of 20");
        await page.GetByRole(AriaRole.Button, new() { Name = "Next page" }).ClickAsync();
        await Expect(page.GetByTestId("page-indicator")).ToHaveTextAsync("Page 2 of 20");
        await Expect(rows.First).ToHaveAttributeAsync("data-request-id", "seed-00050");

        // Filter to errors: every 20th seeded request failed.
        await page.GetByLabel("Status").SelectOptionAsync("error");
        await Expect(page.GetByTestId("request-count")).ToHaveTextAsync("50 of 1,000 loaded requests");
        await page.GetByLabel("Status").SelectOptionAsync("all");
        await Expect(page.GetByTestId("page-indicator")).ToHaveTextAsync("Page 1 of 20");

        // A request sent through the proxy appears without reloading.
        using (var client = new HttpClient())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, host.Host.BaseUrl + "/v1/anthropic/v1/messages")
            {
                Content = new StringContent("""
                    {"model":"claude-live-test","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":"Say hello live"}]}
                    """, Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("anthropic-version", "2023-06-01");
            request.Headers.Add("x-api-key", "client-side-key");
            using var response = await client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }
        var live = page.Locator("tbody tr", new() { HasText = "claude-live-test" });
        await Expect(live).ToBeVisibleAsync();
        await Expect(live).ToContainTextAsync("200");
        await Expect(live).ToContainTextAsync("alpha");
        // The row is the stream's summary payload: the same values GET /api/requests returns for it.
        var recorded = (await host.GetJsonAsync("/api/requests?limit=1"))[0];
        Assert.Equal("claude-live-test", recorded.GetProperty("model").GetString());
        Assert.True(recorded.GetProperty("costUnknown").GetBoolean()); // tokens reported, no price for this model
        await Expect(live).ToHaveAttributeAsync("data-request-id", recorded.GetProperty("id").GetString()!);
        await Expect(live.Locator("td").Nth(6)).ToHaveTextAsync(recorded.GetProperty("totalTokens").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(live.Locator("td").Nth(7)).ToHaveTextAsync("?");
        await Expect(page.GetByTestId("request-count")).ToHaveTextAsync("1,001 of 1,001 loaded requests");
        await Expect(page.GetByTestId("page-indicator")).ToHaveTextAsync("Page 1 of 21");
        await Expect(rows.First).ToHaveAttributeAsync("data-request-id", new Regex("^(?!seed-)"));

        // Its conversation view: system, user and the assistant's answer from the fake upstream.
        await live.GetByRole(AriaRole.Button).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        var conversation = dialog.GetByTestId("conversation");
        await Expect(conversation.Locator("article")).ToHaveCountAsync(3);
        await Expect(conversation.GetByRole(AriaRole.Article, new() { Name = "system message" })).ToContainTextAsync("Be brief.");
        await Expect(conversation.GetByRole(AriaRole.Article, new() { Name = "user message" })).ToContainTextAsync("Say hello live");
        await Expect(conversation.GetByRole(AriaRole.Article, new() { Name = "assistant message" })).ToContainTextAsync("Hello from fake");
        await dialog.GetByRole(AriaRole.Tab, new() { Name = "Request" }).ClickAsync();
        await Expect(dialog.GetByLabel("Request body")).ToContainTextAsync("\"model\": \"claude-live-test\"");
        await dialog.GetByRole(AriaRole.Tab, new() { Name = "Response" }).ClickAsync();
        await Expect(dialog.GetByLabel("Response body")).ToContainTextAsync("Hello from fake");
        await dialog.GetByRole(AriaRole.Tab, new() { Name = "Conversation" }).ClickAsync();
        await tab.ScreenshotAsync("request-detail-live");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();

        // Seeded Anthropic payload: thinking, tool call and tool result.
        await page.GetByRole(AriaRole.Button, new() { Name = "Details of request seed-00000" }).ClickAsync();
        await Expect(conversation.Locator(".thinking")).ToContainTextAsync("call the tool");
        await Expect(conversation.Locator(".tool-call")).ToContainTextAsync("Tool call: get_weather");
        await Expect(conversation.Locator(".tool-call")).ToContainTextAsync("\"city\": \"Paris\"");
        await Expect(conversation.Locator(".tool-result")).ToContainTextAsync("18°C and sunny");
        await Expect(conversation.GetByRole(AriaRole.Article, new() { Name = "assistant message" }).Last).ToContainTextAsync("It is 18°C and sunny in Paris.");
        await tab.ScreenshotAsync("request-detail-anthropic-tools");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();

        // Seeded OpenAI payload: tool_calls and a tool message.
        await page.GetByRole(AriaRole.Button, new() { Name = "Details of request seed-00003" }).ClickAsync();
        await Expect(conversation.Locator(".tool-call")).ToContainTextAsync("Tool call: get_price");
        await Expect(conversation.Locator(".tool-result")).ToContainTextAsync("42.5");
        await Expect(conversation.GetByRole(AriaRole.Article, new() { Name = "assistant message" }).Last).ToContainTextAsync("ACME trades at $42.50.");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Close" }).ClickAsync();

        await tab.ScreenshotAsync("requests");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Analytics_filters_cumulative_mode_and_model_performance()
    {
        await using var host = await DashboardHost.StartAsync();
        await using var tab = await DashboardPage.OpenAsync(browser, host.DashboardUrl + "analytics");
        var page = tab.Page;

        // The numbers on screen are the real GET /api/analytics over the seeded rows.
        var analytics = await host.GetJsonAsync("/api/analytics?range=24h");
        var totals = analytics.GetProperty("totals");
        Assert.Equal(10_000, totals.GetProperty("requests").GetInt64());
        Assert.Equal(95, totals.GetProperty("successRate").GetDouble());
        Assert.Equal(2, totals.GetProperty("activeAccounts").GetInt32());
        var providersJson = analytics.GetProperty("providerBreakdown").EnumerateArray().ToDictionary(p => p.GetProperty("provider").GetString()!);
        Assert.Equal(7_500, providersJson["anthropic"].GetProperty("requests").GetInt64());
        Assert.Equal(2_500, providersJson["openai"].GetProperty("requests").GetInt64());
        Assert.Equal(80, providersJson["openai"].GetProperty("successRate").GetDouble());
        var perfJson = analytics.GetProperty("modelPerformance").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        // claude-sonnet-4: i % 4 != 3, response time 200 + (i % 100) * 10 ms -> nearest-rank p95 = 1,140 ms; gpt-4o (i % 4 == 3) -> 1,150 ms.
        Assert.Equal(1140, perfJson["claude-sonnet-4"].GetProperty("p95ResponseTime").GetDouble());
        Assert.Equal(1150, perfJson["gpt-4o"].GetProperty("p95ResponseTime").GetDouble());
        Assert.Equal(80, perfJson["gpt-4o"].GetProperty("avgTokensPerSecond").GetDouble());
        var costJson = analytics.GetProperty("costByModel").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        Assert.Equal(93.75m, costJson["claude-sonnet-4"].GetProperty("costUsd").GetDecimal());
        Assert.Equal(31.25m, costJson["gpt-4o"].GetProperty("costUsd").GetDecimal());

        await Expect(page.GetByTestId("an-total-requests").Locator(".metric-value")).ToHaveTextAsync("10,000");
        await Expect(page.GetByTestId("an-success-rate").Locator(".metric-value")).ToHaveTextAsync("95%");
        await Expect(page.GetByTestId("an-total-cost").Locator(".metric-value")).ToHaveTextAsync("$125.00");
        await Expect(page.GetByTestId("an-active-accounts").Locator(".metric-value")).ToHaveTextAsync("2");
        await Expect(page.Locator("figure.chart canvas")).ToHaveCountAsync(6);
        var perf = page.GetByRole(AriaRole.Table, new() { Name = "Model performance" });
        await Expect(perf.Locator("thead")).ToContainTextAsync("p95 response");
        await Expect(perf.Locator("tr", new() { HasText = "claude-sonnet-4" })).ToContainTextAsync("1,140 ms");
        await Expect(perf.Locator("tr", new() { HasText = "gpt-4o" })).ToContainTextAsync("1,150 ms");
        await Expect(perf.Locator("tr", new() { HasText = "gpt-4o" })).ToContainTextAsync("80.0 tok/s");
        // Error rate in percent: the failed rows (i % 20 == 19) are all OpenAI rows (i % 4 == 3), 500 of 2,500.
        Assert.Equal(20, perfJson["gpt-4o"].GetProperty("errorRate").GetDouble());
        await Expect(perf.Locator("tr", new() { HasText = "gpt-4o" })).ToContainTextAsync("20%");
        await Expect(perf.Locator("tr", new() { HasText = "claude-sonnet-4" })).ToContainTextAsync("0%");
        var costs = page.GetByRole(AriaRole.Table, new() { Name = "Cost by model details" });
        await Expect(costs.Locator("tr", new() { HasText = "claude-sonnet-4" })).ToContainTextAsync("$93.75");
        await Expect(costs.Locator("tr", new() { HasText = "gpt-4o" })).ToContainTextAsync("$31.25");
        var accountPerf = page.GetByRole(AriaRole.Table, new() { Name = "Account performance" });
        await Expect(accountPerf.Locator("tr", new() { HasText = "beta" })).ToContainTextAsync("2,500");
        await Expect(accountPerf.Locator("tr", new() { HasText = "alpha" })).ToContainTextAsync("7,500");
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Token breakdown" }).Locator("tr", new() { HasText = "Output" })).ToContainTextAsync("500,000");
        var providerPerf = page.GetByRole(AriaRole.Table, new() { Name = "Provider breakdown" });
        await Expect(providerPerf.Locator("tr", new() { HasText = "anthropic" })).ToContainTextAsync("7,500");
        await Expect(providerPerf.Locator("tr", new() { HasText = "openai" })).ToContainTextAsync("2,500");
        await Expect(providerPerf.Locator("tr", new() { HasText = "openai" })).ToContainTextAsync("80%");

        // Filters go to the real endpoint; only the newest answer is shown however fast they change.
        await page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("gpt-4o");
        await Expect(page.GetByTestId("an-total-requests").Locator(".metric-value")).ToHaveTextAsync("2,500");
        await page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("");
        await page.RunAndWaitForResponseAsync(
            () => page.GetByLabel("Provider", new() { Exact = true }).SelectOptionAsync("anthropic"),
            r => r.Url.Contains("providers=anthropic", StringComparison.Ordinal) && r.Status == 200);
        await Expect(page.GetByTestId("an-total-requests").Locator(".metric-value")).ToHaveTextAsync("7,500");
        await Expect(providerPerf.Locator("tbody tr")).ToHaveCountAsync(1);
        await page.GetByLabel("Provider", new() { Exact = true }).SelectOptionAsync("");
        await page.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("error");
        await Expect(page.GetByTestId("an-total-requests").Locator(".metric-value")).ToHaveTextAsync("500");
        await Expect(page.GetByTestId("an-success-rate").Locator(".metric-value")).ToHaveTextAsync("0%");
        await page.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("all");
        await page.GetByLabel("Account", new() { Exact = true }).SelectOptionAsync("alpha");
        await Expect(page.GetByTestId("an-total-requests").Locator(".metric-value")).ToHaveTextAsync("7,500");
        await Expect(page.GetByTestId("an-active-accounts").Locator(".metric-value")).ToHaveTextAsync("1");
        await page.GetByLabel("Account", new() { Exact = true }).SelectOptionAsync("");

        await page.RunAndWaitForResponseAsync(
            () => page.GetByLabel("Cumulative", new() { Exact = true }).CheckAsync(),
            r => r.Url.Contains("mode=cumulative", StringComparison.Ordinal) && r.Status == 200);
        // The last hour's window slides (a seeded row leaves it every 8 s), so compare the screen with
        // the very answer the page received rather than with a second call.
        var hourResponse = await page.RunAndWaitForResponseAsync(
            () => page.GetByLabel("Range", new() { Exact = true }).SelectOptionAsync("1h"),
            r => r.Url.Contains("range=1h", StringComparison.Ordinal) && r.Status == 200);
        var hour = (await hourResponse.JsonAsync())!.Value;
        Assert.Equal("1m", hour.GetProperty("meta").GetProperty("bucket").GetString());
        Assert.True(hour.GetProperty("meta").GetProperty("cumulative").GetBoolean());
        var lastHour = hour.GetProperty("totals").GetProperty("totalRequests").GetInt64();
        Assert.InRange(lastHour, 400, 440); // 58 of the seeded minutes at one row per 8.28 s
        await Expect(page.GetByTestId("an-total-requests").Locator(".metric-value")).ToHaveTextAsync(lastHour.ToString("N0", System.Globalization.CultureInfo.GetCultureInfo("en-US")));
        // Cumulative: the request series is a running total, so its last point is the window's total.
        var series = hour.GetProperty("timeSeries").EnumerateArray().ToList();
        Assert.Equal(lastHour, series[^1].GetProperty("requests").GetInt64());

        // Per model: the endpoint's modelBreakdown series, one line per model in every chart.
        await page.GetByLabel("Range", new() { Exact = true }).SelectOptionAsync("24h");
        await page.RunAndWaitForResponseAsync(
            () => page.GetByLabel("Per model", new() { Exact = true }).CheckAsync(),
            r => r.Url.Contains("modelBreakdown=true", StringComparison.Ordinal) && r.Status == 200);
        var volume = page.Locator("figure.chart", new() { HasText = "Request volume" });
        await Expect(volume.Locator(".u-legend")).ToContainTextAsync("claude-sonnet-4");
        await Expect(volume.Locator(".u-legend")).ToContainTextAsync("gpt-4o");
        await Expect(page.Locator("figure.chart canvas")).ToHaveCountAsync(6);
        await Expect(page.GetByTestId("an-total-requests").Locator(".metric-value")).ToHaveTextAsync("10,000");
        await tab.ScreenshotAsync("analytics");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Logs_show_history_filter_by_level_and_follow_live()
    {
        await using var host = await DashboardHost.StartAsync(seededRequests: 10);
        await using var tab = await DashboardPage.OpenAsync(browser, host.DashboardUrl + "logs");
        var page = tab.Page;
        var entries = page.GetByRole(AriaRole.List, new() { Name = "Log entries" }).Locator("li.log");

        // The seeded lines went through ILogger -> the real log buffer -> /api/logs/history.
        var started = entries.Filter(new() { HasText = "Seed server started on port 8080" });
        await Expect(started).ToHaveCountAsync(1);
        await Expect(started).ToHaveAttributeAsync("data-level", "INFO");
        await Expect(started.Locator(".component")).ToHaveTextAsync("Seed");
        await Expect(entries.Filter(new() { HasText = "Selected account alpha by session strategy" })).ToHaveAttributeAsync("data-level", "DEBUG");
        var limited = entries.Filter(new() { HasText = "Account gamma is rate limited until reset" });
        await Expect(limited).ToHaveAttributeAsync("data-level", "WARN");
        await Expect(limited.Locator(".meta")).ToContainTextAsync("Account=gamma");
        await Expect(limited.Locator(".meta")).ToContainTextAsync("eventId=9003");
        // The product's own lines are there too (account added through the management API).
        await Expect(entries.Filter(new() { HasText = "Account 'gamma' (anthropic) added" })).ToHaveCountAsync(1);

        await page.GetByLabel("Level").SelectOptionAsync("ERROR");
        await Expect(entries.Filter(new() { HasText = "Upstream returned 500 for seed request seed-00019" })).ToHaveCountAsync(1);
        await Expect(page.Locator("li.log:not([data-level='ERROR'])")).ToHaveCountAsync(0);
        await page.GetByLabel("Level").SelectOptionAsync("");

        // Live: once the page's subscription is registered, a line logged now appears on top.
        await Expect(page.GetByTestId("logs-live-state")).ToHaveTextAsync("live");
        DashboardHost.SeedLog.Live(host.Logger, 1);
        await Expect(entries.First).ToContainTextAsync("Live log line number 1");
        await page.GetByLabel("Level").SelectOptionAsync("WARN");
        await Expect(entries.First).ToContainTextAsync("Live log line number 1");
        await Expect(page.Locator("li.log:not([data-level='WARN'])")).ToHaveCountAsync(0);
        await page.GetByLabel("Search").FillAsync("live log line");
        await Expect(entries).ToHaveCountAsync(1);
        DashboardHost.SeedLog.Live(host.Logger, 2);
        await Expect(entries).ToHaveCountAsync(2);
        await Expect(entries.First).ToContainTextAsync("Live log line number 2");

        await page.GetByLabel("Search").FillAsync("");
        await page.GetByLabel("Level").SelectOptionAsync("");
        await tab.ScreenshotAsync("logs");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Requests_page_narrows_to_one_client_session_from_its_session_id()
    {
        await using var host = await DashboardHost.StartAsync(seededRequests: 10);
        // Claude Code sends its session id on every request; two sessions and a client without one.
        async Task SendAsync(string model, string? session)
        {
            using var client = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Post, host.Host.BaseUrl + "/v1/anthropic/v1/messages")
            {
                Content = new StringContent($$"""{"model":"{{model}}","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("anthropic-version", "2023-06-01");
            request.Headers.Add("x-api-key", "client-side-key");
            if (session is not null)
            {
                request.Headers.Add("x-claude-code-session-id", session);
            }
            using var response = await client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }
        await SendAsync("claude-sonnet-4-5", "7f3c2a10-aaaa-4bbb-8ccc-000000000001");
        await SendAsync("claude-haiku-4-5", "7f3c2a10-aaaa-4bbb-8ccc-000000000002");
        await SendAsync("claude-sonnet-4-5", "7f3c2a10-aaaa-4bbb-8ccc-000000000001");
        await SendAsync("claude-opus-4-8", null);
        await host.Host.DrainHistoryAsync();

        await using var tab = await DashboardPage.OpenAsync(browser, host.DashboardUrl + "requests");
        var page = tab.Page;
        await Expect(page.GetByTestId("request-count")).ToHaveTextAsync("14 of 14 loaded requests");
        var rows = page.GetByRole(AriaRole.Table, new() { Name = "Requests" }).Locator("tbody tr");

        await page.GetByRole(AriaRole.Button, new() { Name = "Show only session 7f3c2a10-aaaa-4bbb-8ccc-000000000001" }).First.ClickAsync();

        await Expect(page.GetByTestId("request-count")).ToHaveTextAsync("2 of 14 loaded requests");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.Filter(new() { HasText = "claude-sonnet-4-5" })).ToHaveCountAsync(2);
        await Expect(page.GetByTestId("session-filter")).ToContainTextAsync("Session 7f3c2a10…");
        // What the API returns for the same session.
        var bySession = await host.Host.Client.GetFromJsonAsync<System.Text.Json.JsonElement[]>("/api/requests?clientSessionId=7f3c2a10-aaaa-4bbb-8ccc-000000000001");
        Assert.Equal(2, bySession!.Length);
        foreach (var row in bySession)
        {
            await Expect(page.Locator($"tbody tr[data-request-id='{row.GetProperty("id").GetString()}']")).ToHaveCountAsync(1);
        }
        await tab.ScreenshotAsync("requests-one-session");

        await page.GetByRole(AriaRole.Button, new() { Name = "Show all sessions" }).ClickAsync();
        await Expect(page.GetByTestId("request-count")).ToHaveTextAsync("14 of 14 loaded requests");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Strategy_change_and_session_duration_are_saved()
    {
        await using var host = await DashboardHost.StartAsync(seededRequests: 10);
        await using var tab = await DashboardPage.OpenAsync(browser, host.DashboardUrl + "strategy");
        var page = tab.Page;

        await Expect(page.GetByTestId("current-strategy")).ToHaveTextAsync("Current: session");
        await Expect(page.GetByRole(AriaRole.Radio)).ToHaveCountAsync(5); // the four ccflare strategies and reset-aware
        await page.GetByRole(AriaRole.Radio, new() { Name = "round-robin" }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save strategy" }).ClickAsync();
        await Expect(page.GetByTestId("current-strategy")).ToHaveTextAsync("Current: round-robin");
        Assert.Equal("round-robin", (await host.GetJsonAsync("/api/config/strategy")).GetProperty("strategy").GetString());

        await Expect(page.GetByLabel("Session duration (minutes)")).ToHaveValueAsync("300");
        await page.GetByLabel("Session duration (minutes)").FillAsync("120");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save duration" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Session duration set to 120 minutes" })).ToBeVisibleAsync();
        Assert.Equal(7_200_000, (await host.GetJsonAsync("/api/config")).GetProperty("sessionDurationMs").GetInt64());

        // Survives a reload.
        await page.ReloadAsync();
        await Expect(page.GetByTestId("current-strategy")).ToHaveTextAsync("Current: round-robin");
        await Expect(page.GetByLabel("Session duration (minutes)")).ToHaveValueAsync("120");

        await tab.ScreenshotAsync("strategy");
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task Works_under_a_host_prefix_with_dark_theme()
    {
        await using var host = await DashboardHost.StartAsync(prefix: "/llm", seededRequests: 200);
        await using var tab = await DashboardPage.OpenAsync(browser, host.Host.BaseUrl + "/llm/analytics", colorScheme: "dark");
        var page = tab.Page;

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Analytics", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("an-total-requests").Locator(".metric-value")).ToHaveTextAsync("200");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("data-theme", "dark");

        await page.GetByRole(AriaRole.Link, new() { Name = "Overview" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(host.Host.BaseUrl + "/llm/");
        await Expect(page.GetByTestId("stat-total-requests").Locator(".metric-value")).ToHaveTextAsync("200");
        await Expect(page.Locator("figure.chart canvas")).ToHaveCountAsync(4);
        await tab.ScreenshotAsync("overview-dark");

        await page.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        await Expect(page.GetByTestId("account-alpha")).ToBeVisibleAsync();
        await tab.ScreenshotAsync("accounts-dark");

        // The toggle switches to light and is remembered.
        await page.GetByRole(AriaRole.Button, new() { Name = "Toggle dark theme" }).ClickAsync();
        await Expect(page.Locator("html")).ToHaveAttributeAsync("data-theme", "light");
        await page.ReloadAsync();
        await Expect(page.Locator("html")).ToHaveAttributeAsync("data-theme", "light");

        // Every call stayed under the prefix.
        List<string> calls;
        lock (tab.ApiCalls)
        {
            calls = [.. tab.ApiCalls];
        }
        Assert.NotEmpty(calls);
        Assert.All(calls, c => Assert.StartsWith(host.Host.BaseUrl + "/llm/", c, StringComparison.Ordinal));
        Assert.Contains(calls, c => c.Contains("/llm/api/accounts", StringComparison.Ordinal));
        tab.AssertNoErrors();
    }

    [Fact]
    public async Task An_open_dashboard_does_not_hold_up_the_host_shutdown()
    {
        var host = await DashboardHost.StartAsync(seededRequests: 10);
        await using var requests = await DashboardPage.OpenAsync(browser, host.DashboardUrl + "requests");
        await using var logs = await DashboardPage.OpenAsync(browser, host.DashboardUrl + "logs");
        await Expect(requests.Page.GetByTestId("live-state")).ToHaveTextAsync("live");
        await Expect(logs.Page.GetByTestId("logs-live-state")).ToHaveTextAsync("live");
        requests.AssertNoErrors();
        logs.AssertNoErrors();

        // Both pages hold a live stream open; stopping must end them instead of waiting for the
        // host's shutdown timeout (30 s) and then failing with a TaskCanceledException.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await host.DisposeAsync();
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"The host took {stopwatch.Elapsed} to stop.");
    }

    [Fact]
    public async Task Provider_choices_come_from_the_server_and_an_orphaned_account_is_marked()
    {
        await using var host = await DashboardHost.StartAsync(seededRequests: 10);
        await host.Host.Services.GetRequiredService<Ccflare.Accounts.AccountService>().AddAsync(
            new Account { Id = Guid.NewGuid().ToString(), Name = "orphan", Provider = "moonshot", ApiKey = "sk-orphan", CreatedAt = DateTimeOffset.UtcNow }, default);
        await using var tab = await DashboardPage.OpenAsync(browser, host.DashboardUrl + "accounts");
        var page = tab.Page;

        var served = (await host.GetJsonAsync("/api/providers")).EnumerateArray().ToList();
        string[] ExpectedFor(string method) => [.. served.Where(p => p.GetProperty("authMethods")[0].GetString() == method).Select(p => p.GetProperty("name").GetString()!)];
        Assert.Equal(["anthropic", "openai", "zai"], ExpectedFor("api_key"));
        var keyForm = page.GetByRole(AriaRole.Form, new() { Name = "Add account with API key" });
        var oauthForm = page.GetByRole(AriaRole.Form, new() { Name = "Add account with OAuth" });
        await Expect(keyForm.GetByLabel("Provider").Locator("option")).ToHaveCountAsync(3);
        Assert.Equal(ExpectedFor("api_key"), await keyForm.GetByLabel("Provider").Locator("option").EvaluateAllAsync<string[]>("options => options.map(o => o.value)"));
        await Expect(keyForm.GetByLabel("Provider").Locator("option[value=zai]")).ToHaveTextAsync("zai (anthropic-compatible)");
        Assert.Equal(ExpectedFor("oauth"), await oauthForm.GetByLabel("Provider").Locator("option").EvaluateAllAsync<string[]>("options => options.map(o => o.value)"));

        await keyForm.GetByLabel("Account name").FillAsync("z");
        await keyForm.GetByLabel("Provider").SelectOptionAsync("zai");
        await keyForm.GetByLabel("API key").FillAsync("zai-key-1");
        await keyForm.GetByRole(AriaRole.Button, new() { Name = "Add account" }).ClickAsync();
        await Expect(page.GetByTestId("account-z")).ToBeVisibleAsync();
        var created = (await host.GetJsonAsync("/api/accounts")).EnumerateArray().Single(a => a.GetProperty("name").GetString() == "z");
        Assert.Equal("zai", created.GetProperty("provider").GetString());

        await Expect(page.GetByTestId("account-orphan").GetByTestId("provider-missing")).ToHaveTextAsync("Provider not configured");
        await Expect(page.GetByTestId("account-z").GetByTestId("provider-missing")).ToHaveCountAsync(0);
    }

    private static async Task<bool> AccountFlagAsync(DashboardHost host, string name, string flag) =>
        (await host.GetJsonAsync("/api/accounts")).EnumerateArray().Single(a => a.GetProperty("name").GetString() == name).GetProperty(flag).GetBoolean();
}
