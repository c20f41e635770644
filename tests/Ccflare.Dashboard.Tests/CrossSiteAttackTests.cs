using System.Collections.Concurrent;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace Ccflare.Dashboard.Tests;

/// <summary>
/// A page the operator happens to visit, served from a second origin (<c>http://localhost:&lt;other port&gt;</c>, a
/// different site from Ccflare's <c>http://127.0.0.1:&lt;port&gt;</c>), attacks Ccflare in real headless Chromium with
/// what browsers send without asking: a no-cors <c>fetch</c> POST with <c>text/plain</c>, a form POST, and reads of
/// <c>/api/requests</c>. Nothing is created or changed, and the page reads nothing.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class CrossSiteAttackTests(BrowserFixture browser)
{
    private const string AttackScript = """
        window.results = {};
        async function attack(target) {
          const planted = JSON.stringify({ name: 'planted', provider: 'anthropic', api_key: 'sk-ant-attacker', base_url: 'https://attacker.example' });
          try {
            const r = await fetch(target + '/api/accounts', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: planted });
            results.noCorsPost = { type: r.type, status: r.status, text: await r.text() };
          } catch (e) { results.noCorsPost = { error: String(e) }; }
          try {
            const r = await fetch(target + '/api/config/strategy', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"strategy":"round-robin"}' });
            results.noCorsStrategy = { type: r.type, status: r.status };
          } catch (e) { results.noCorsStrategy = { error: String(e) }; }
          try {
            const r = await fetch(target + '/api/requests');
            results.corsGet = { status: r.status, text: await r.text() };
          } catch (e) { results.corsGet = { error: String(e) }; }
          try {
            const r = await fetch(target + '/api/requests', { mode: 'no-cors' });
            results.noCorsGet = { type: r.type, status: r.status, text: await r.text() };
          } catch (e) { results.noCorsGet = { error: String(e) }; }
          try {
            const r = await fetch(target + '/v1/anthropic/v1/messages', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"model":"claude-x","max_tokens":5,"messages":[]}' });
            results.noCorsProxy = { type: r.type, status: r.status };
          } catch (e) { results.noCorsProxy = { error: String(e) }; }
          results.done = true;
        }
        """;

    private static async Task<(WebApplication App, string Origin)> StartAttackerAsync(string target, string accountId)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        // The form posts into a hidden frame, the way a real page would hide it.
        var html = $$"""
            <!doctype html><html><head><meta charset="utf-8"><title>Free tokens</title></head><body>
            <iframe name="sink" style="display:none"></iframe>
            <form id="strategy" action="{{target}}/api/config/strategy" method="POST" enctype="text/plain" target="sink">
              <input name='{"strategy":"round-robin","pad":"' value='"}'>
            </form>
            <form id="pause" action="{{target}}/api/accounts/{{accountId}}/pause" method="POST" target="sink">
              <input name="x" value="1">
            </form>
            <form id="create" action="{{target}}/api/accounts" method="POST" enctype="application/x-www-form-urlencoded" target="sink">
              <input name="name" value="planted-by-form"><input name="provider" value="anthropic"><input name="api_key" value="sk-ant-form">
            </form>
            <script>{{AttackScript}}</script>
            </body></html>
            """;
        app.MapGet("/", () => Results.Content(html, "text/html; charset=utf-8"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // Same machine, different site: Chromium treats localhost and 127.0.0.1 as two sites.
        return (app, address.Replace("127.0.0.1", "localhost", StringComparison.Ordinal));
    }

    private static async Task<string> StateAsync(CcflareTestHost host)
    {
        await host.DrainHistoryAsync();
        using var accounts = JsonDocument.Parse(await host.Client.GetStringAsync("/api/accounts"));
        var shape = string.Join(";", accounts.RootElement.EnumerateArray().Select(a => $"{a.GetProperty("name")}|{a.GetProperty("paused")}|{a.GetProperty("base_url")}"));
        using var history = JsonDocument.Parse(await host.Client.GetStringAsync("/api/requests?limit=100"));
        return $"{shape}\n{await host.Client.GetStringAsync("/api/config")}\n{history.RootElement.GetArrayLength()}";
    }

    /// <summary>
    /// Submits a form into the hidden frame and waits until Ccflare's answer to it was seen. Chromium
    /// on a loaded machine occasionally drops a frame navigation that another one is still replacing,
    /// so an unanswered submission is sent again (at most three times) rather than waited on forever.
    /// </summary>
    private static async Task SubmitUntilAnsweredAsync(IPage page, string form, string url, ConcurrentQueue<(string Url, string Method, int Status)> seen)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            await page.EvaluateAsync($"() => document.getElementById('{form}').submit()");
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline)
            {
                if (seen.Any(a => a.Url == url && a.Method == "POST"))
                {
                    return;
                }
                await Task.Delay(50);
            }
        }
        Assert.Fail($"The form '{form}' never got an answer from {url}.");
    }

    [Fact]
    public async Task A_page_on_another_site_can_neither_change_ccflare_nor_read_it()
    {
        var upstream = await FakeUpstream.StartAsync();
        await using var _ = upstream;
        await using var host = await CcflareTestHost.StartAsync();
        var accountId = await host.AddAccountAsync("victim", "anthropic", "sk-ant-victim", upstream.BaseUrl);
        var target = host.BaseUrl.TrimEnd('/');
        var (attacker, origin) = await StartAttackerAsync(target, accountId);
        await using var __ = attacker;
        var before = await StateAsync(host);

        var context = await browser.Browser.NewContextAsync();
        await using var ___ = context;
        var page = await context.NewPageAsync();
        var seen = new ConcurrentQueue<(string Url, string Method, int Status)>();
        page.Response += (_, response) =>
        {
            if (response.Url.StartsWith(target, StringComparison.Ordinal))
            {
                seen.Enqueue((response.Url, response.Request.Method, response.Status));
            }
        };

        await page.GotoAsync(origin + "/");
        await page.EvaluateAsync("target => attack(target)", target);
        await page.WaitForFunctionAsync("() => window.results.done === true");
        var forms = new[] { ("strategy", "/api/config/strategy"), ("pause", $"/api/accounts/{accountId}/pause"), ("create", "/api/accounts") };
        foreach (var (form, path) in forms)
        {
            await SubmitUntilAnsweredAsync(page, form, target + path, seen);
        }

        var results = JsonDocument.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.results)")).RootElement;
        // The page reads nothing: no-cors answers are opaque (status 0, empty body) and the CORS read fails.
        foreach (var name in new[] { "noCorsPost", "noCorsGet" })
        {
            Assert.Equal("opaque", results.GetProperty(name).GetProperty("type").GetString());
            Assert.Equal(0, results.GetProperty(name).GetProperty("status").GetInt32());
            Assert.Equal("", results.GetProperty(name).GetProperty("text").GetString());
        }
        Assert.True(results.GetProperty("corsGet").TryGetProperty("error", out var corsError), results.GetProperty("corsGet").ToString());
        Assert.Contains("Failed to fetch", corsError.GetString(), StringComparison.Ordinal);

        // Every attempt reached Ccflare and was refused there (the browser saw the real statuses the page could not).
        var answers = seen.ToArray();
        Assert.Contains(answers, a => a.Url == target + "/api/accounts" && a.Method == "POST" && a.Status == 403);
        Assert.Contains(answers, a => a.Url == target + "/api/config/strategy" && a.Method == "POST" && a.Status == 403);
        Assert.Contains(answers, a => a.Url == $"{target}/api/accounts/{accountId}/pause" && a.Status == 403);
        Assert.Contains(answers, a => a.Url == target + "/api/requests" && a.Status == 403);
        Assert.Contains(answers, a => a.Url == target + "/v1/anthropic/v1/messages" && a.Status == 403);
        Assert.DoesNotContain(answers, a => a.Status is >= 200 and < 300);

        // Nothing was created or changed, and no pooled account was spent.
        Assert.Equal(before, await StateAsync(host));
        Assert.Empty(upstream.Received);
    }
}
