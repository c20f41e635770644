using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Management;

public sealed class ConfigEndpointTests : IAsyncLifetime
{
    private CcflareTestHost _host = null!;

    public async Task InitializeAsync() => _host = await CcflareTestHost.StartAsync(o => o.Port = 9999);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Strategies_lists_the_built_ins()
    {
        var names = await _host.Client.GetFromJsonAsync<string[]>("/api/strategies");

        Assert.Equal(["session", "round-robin", "least-requests", "weighted", "reset-aware"], names!);
    }

    [Fact]
    public async Task Config_reports_strategy_port_and_session_duration()
    {
        var config = await _host.Client.GetFromJsonAsync<JsonElement>("/api/config");

        Assert.Equal("session", config.GetProperty("lbStrategy").GetString());
        Assert.Equal(9999, config.GetProperty("port").GetInt32());
        Assert.Equal(18_000_000, config.GetProperty("sessionDurationMs").GetInt64());
    }

    [Fact]
    public async Task Strategy_can_be_changed_and_is_persisted()
    {
        using var response = await _host.Client.PostAsJsonAsync("/api/config/strategy", new { strategy = "round-robin" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("round-robin", (await _host.Client.GetFromJsonAsync<JsonElement>("/api/config/strategy")).GetProperty("strategy").GetString());
        Assert.Equal("round-robin", (await _host.Client.GetFromJsonAsync<JsonElement>("/api/config")).GetProperty("lbStrategy").GetString());
        var settings = await _host.Services.GetRequiredService<ICcflareStore>().GetSettingsAsync(default);
        Assert.Equal("round-robin", settings["lb_strategy"]);
    }

    [Theory]
    [InlineData("""{"strategy":"fastest"}""", "Unknown strategy 'fastest'")]
    [InlineData("""{}""", "strategy is required")]
    [InlineData("""{"strategy":""", "not valid JSON")]
    public async Task Bad_strategy_is_400_and_changes_nothing(string body, string expected)
    {
        using var response = await _host.Client.PostAsync("/api/config/strategy", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(expected, error.GetProperty("error").GetString());
        Assert.Equal("session", (await _host.Client.GetFromJsonAsync<JsonElement>("/api/config/strategy")).GetProperty("strategy").GetString());
    }

    [Fact]
    public async Task Session_duration_can_be_changed_within_bounds()
    {
        using var ok = await _host.Client.PatchAsJsonAsync("/api/config", new { sessionDurationMs = 60_000 });
        using var tooSmall = await _host.Client.PatchAsJsonAsync("/api/config", new { sessionDurationMs = 5 });

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooSmall.StatusCode);
        Assert.Equal(60_000, (await _host.Client.GetFromJsonAsync<JsonElement>("/api/config")).GetProperty("sessionDurationMs").GetInt64());
    }

    [Fact]
    public async Task Health_reports_status_accounts_strategy_and_providers()
    {
        await _host.AddAccountAsync("a", "anthropic", "k", "http://127.0.0.1:9");

        var health = await _host.Client.GetFromJsonAsync<JsonElement>("/health");

        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(1, health.GetProperty("accounts").GetInt32());
        Assert.Equal("session", health.GetProperty("strategy").GetString());
        Assert.Equal(["anthropic", "claude-code", "openai", "codex"], health.GetProperty("providers").EnumerateArray().Select(p => p.GetString()));
        Assert.True(health.TryGetProperty("timestamp", out _));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("abc")]
    [InlineData("100000")]
    public async Task Requests_limit_is_validated(string limit)
    {
        using var response = await _host.Client.GetAsync($"/api/requests?limit={limit}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("limit must be", await response.Content.ReadAsStringAsync());
    }
}
