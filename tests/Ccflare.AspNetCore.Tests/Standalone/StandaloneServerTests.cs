using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ccflare.StandaloneServer;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Standalone;

public sealed class StandaloneSettingsTests
{
    private static string? NoEnv(string _) => null;

    [Fact]
    public void Defaults_follow_ccflare()
    {
        var settings = StandaloneSettings.Parse([], name => name == "XDG_CONFIG_HOME" ? "/tmp/xdg" : null);

        Assert.Null(settings.Port);
        Assert.Equal("/tmp/xdg/ccflare", settings.DataDirectory);
        Assert.Equal("sqlite", settings.Storage);
        Assert.Equal("/tmp/xdg/ccflare/ccflare.json", settings.ConfigFilePath);
    }

    [Fact]
    public void Flags_win_over_environment_and_unknown_args_pass_through()
    {
        var env = new Dictionary<string, string> { ["PORT"] = "7000", ["CCFLARE_DATA_DIR"] = "/tmp/env-dir" };
        var settings = StandaloneSettings.Parse(["--port", "9001", "--data-dir=/tmp/flag-dir", "--Ccflare:LbStrategy=weighted", "--list"], n => env.GetValueOrDefault(n));

        Assert.Equal(9001, settings.Port);
        Assert.Equal("/tmp/flag-dir", settings.DataDirectory);
        Assert.Equal(["--Ccflare:LbStrategy=weighted", "--list"], settings.RemainingArgs);
    }

    [Fact]
    public void Environment_is_used_without_flags()
    {
        var env = new Dictionary<string, string> { ["PORT"] = "7000", ["CCFLARE_DATA_DIR"] = "/tmp/env-dir", ["CCFLARE_STORAGE"] = "LiteDB" };
        var settings = StandaloneSettings.Parse([], n => env.GetValueOrDefault(n));

        Assert.Equal(7000, settings.Port);
        Assert.Equal("/tmp/env-dir", settings.DataDirectory);
        Assert.Equal("litedb", settings.Storage);
    }

    [Fact]
    public void Postgres_storage_takes_its_connection_string_from_the_flag_or_the_environment()
    {
        var fromFlags = StandaloneSettings.Parse(["--storage", "postgres", "--connection-string", "Host=db;Database=ccflare;Username=u"], NoEnv);
        Assert.Equal("postgres", fromFlags.Storage);
        Assert.Equal("Host=db;Database=ccflare;Username=u", fromFlags.ConnectionString);
        Assert.Empty(fromFlags.RemainingArgs);

        var env = new Dictionary<string, string> { ["CCFLARE_STORAGE"] = "PostgreSQL", ["CCFLARE_CONNECTION_STRING"] = "Host=env;Database=c" };
        var fromEnv = StandaloneSettings.Parse([], n => env.GetValueOrDefault(n));
        Assert.Equal("postgres", fromEnv.Storage);
        Assert.Equal("Host=env;Database=c", fromEnv.ConnectionString);

        var flagWins = StandaloneSettings.Parse(["--connection-string=Host=flag"], n => env.GetValueOrDefault(n));
        Assert.Equal("Host=flag", flagWins.ConnectionString);
    }

    [Fact]
    public void Postgres_storage_without_a_connection_string_and_a_stray_connection_string_are_errors()
    {
        var missing = Assert.Throws<ArgumentException>(() => StandaloneSettings.Parse(["--storage", "postgres"], NoEnv));
        Assert.Contains("--connection-string", missing.Message);
        Assert.Contains("CCFLARE_CONNECTION_STRING", missing.Message);

        var stray = Assert.Throws<ArgumentException>(() => StandaloneSettings.Parse(["--connection-string", "Host=db"], NoEnv));
        Assert.Contains("only used with --storage postgres", stray.Message);
    }

    [Fact]
    public async Task Help_lists_the_postgres_storage_and_its_connection_string()
    {
        var (code, stdout, _) = await StandaloneProcess.RunToEndAsync(["--help"]);

        Assert.Equal(0, code);
        Assert.Contains("sqlite (default), litedb, postgres or memory", stdout);
        Assert.Contains("--connection-string", stdout);
        Assert.Contains("CCFLARE_CONNECTION_STRING", stdout);
    }

    [Fact]
    public async Task An_unreachable_database_is_a_clear_error_not_a_stack_trace()
    {
        var port = StandaloneProcess.FreePort();
        var dataDir = Directory.CreateTempSubdirectory("ccflare-unreachable-");
        int code;
        string stderr;
        try
        {
            (code, _, stderr) = await StandaloneProcess.RunToEndAsync(
                ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", dataDir.FullName,
                 "--storage", "postgres", "--connection-string", $"Host=127.0.0.1;Port={StandaloneProcess.FreePort()};Username=x;Timeout=3"]);
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }

        Assert.Equal(1, code);
        Assert.Contains("error: the database failed", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Theory]
    [InlineData("--port", "0", "--port must be a port number")]
    [InlineData("--port", "http", "--port must be a port number")]
    [InlineData("--storage", "mongo", "--storage must be")]
    public void Bad_flags_give_clear_errors(string flag, string value, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => StandaloneSettings.Parse([flag, value], NoEnv));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Missing_flag_value_is_an_error()
    {
        var ex = Assert.Throws<ArgumentException>(() => StandaloneSettings.Parse(["--data-dir"], NoEnv));
        Assert.Contains("--data-dir needs a value", ex.Message);
    }

    [Fact]
    public void Ccflare_json_keys_map_to_options()
    {
        var dir = Directory.CreateTempSubdirectory("ccflare-json-");
        try
        {
            var path = Path.Combine(dir.FullName, "ccflare.json");
            File.WriteAllText(path, """{"lb_strategy":"round-robin","session_duration_ms":60000,"port":8123,"client_id":"my-client","require_access_keys":true,"unknown":1}""");

            var values = CcflareJsonConfiguration.ReadFile(path);

            Assert.Equal("round-robin", values["Ccflare:LbStrategy"]);
            Assert.Equal("60000", values["Ccflare:SessionDurationMs"]);
            Assert.Equal("8123", values["Ccflare:Port"]);
            Assert.Equal("my-client", values["Ccflare:Providers:claude-code:ClientId"]);
            Assert.Equal("true", values["Ccflare:RequireAccessKeys"]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Invalid_ccflare_json_names_the_file()
    {
        var dir = Directory.CreateTempSubdirectory("ccflare-json-");
        try
        {
            var path = Path.Combine(dir.FullName, "ccflare.json");
            File.WriteAllText(path, "{ nope");

            var ex = Assert.Throws<InvalidOperationException>(() => CcflareJsonConfiguration.ReadFile(path));
            Assert.Contains(path, ex.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

public sealed class StandaloneServerProcessTests : IAsyncLifetime
{
    private readonly DirectoryInfo _dataDir = Directory.CreateTempSubdirectory("ccflare-standalone-");
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _dataDir.Delete(recursive: true);
    }

    [Fact]
    public async Task Serves_on_the_given_port_reads_ccflare_json_and_proxies()
    {
        File.WriteAllText(Path.Combine(_dataDir.FullName, "ccflare.json"), """{"lb_strategy":"least-requests"}""");
        var port = StandaloneProcess.FreePort();
        await using var server = await StandaloneProcess.StartAsync(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", _dataDir.FullName], port);

        var config = await server.Client.GetFromJsonAsync<JsonElement>("/api/config");
        Assert.Equal("least-requests", config.GetProperty("lbStrategy").GetString());
        Assert.Equal(port, config.GetProperty("port").GetInt32());

        // The README's curl example, as HTTP.
        using var add = await server.Client.PostAsync("/api/accounts", new StringContent(
            $$"""{"name":"my-key","provider":"anthropic","api_key":"sk-ant-test","base_url":"{{_upstream.BaseUrl}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, add.StatusCode);

        using var proxied = await server.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(
            """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.Equal("sk-ant-test", Assert.Single(_upstream.Received).Header("x-api-key"));

        Assert.Equal(0, await server.StopAsync());
    }

    [Theory]
    [InlineData("sqlite", "ccflare.db")]
    [InlineData("litedb", "ccflare.litedb")]
    public async Task Accounts_settings_and_history_survive_a_graceful_restart(string storage, string file)
    {
        var args = new[] { "--data-dir", _dataDir.FullName, "--storage", storage };
        var port = StandaloneProcess.FreePort();
        await using (var server = await StandaloneProcess.StartAsync([.. args, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], port))
        {
            using var add = await server.Client.PostAsync("/api/accounts", new StringContent(
                $$"""{"name":"kept","provider":"anthropic","api_key":"sk-ant-kept","base_url":"{{_upstream.BaseUrl}}"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, add.StatusCode);
            using var strategy = await server.Client.PostAsync("/api/config/strategy", new StringContent("""{"strategy":"round-robin"}""", Encoding.UTF8, "application/json"));
            strategy.EnsureSuccessStatusCode();
            for (var i = 0; i < 3; i++)
            {
                using var proxied = await server.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(
                    """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
            }
            // SIGTERM: the host drains the write queue before it exits.
            Assert.Equal(0, await server.StopAsync());
        }
        Assert.True(File.Exists(Path.Combine(_dataDir.FullName, file)));

        port = StandaloneProcess.FreePort();
        await using (var restarted = await StandaloneProcess.StartAsync([.. args, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], port))
        {
            var accounts = await restarted.Client.GetFromJsonAsync<JsonElement>("/api/accounts");
            var account = Assert.Single(accounts.EnumerateArray());
            Assert.Equal("kept", account.GetProperty("name").GetString());
            Assert.Equal(3, account.GetProperty("totalRequests").GetInt64());
            Assert.Equal("round-robin", (await restarted.Client.GetFromJsonAsync<JsonElement>("/api/config")).GetProperty("lbStrategy").GetString());
            var requests = await restarted.Client.GetFromJsonAsync<JsonElement>("/api/requests?limit=10");
            Assert.Equal(3, requests.GetArrayLength());
            Assert.All(requests.EnumerateArray(), r => Assert.Equal("claude-sonnet-4-5", r.GetProperty("model").GetString()));

            // The key still decrypts with the data directory's key ring.
            _upstream.Received.Clear();
            using var proxied = await restarted.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent(
                """{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
            Assert.Equal("sk-ant-kept", Assert.Single(_upstream.Received).Header("x-api-key"));
        }
    }

    [Fact]
    public async Task Port_from_environment_and_options_from_Ccflare_arguments()
    {
        var port = StandaloneProcess.FreePort();
        await using var server = await StandaloneProcess.StartAsync(
            ["--data-dir", _dataDir.FullName, "--Ccflare:LbStrategy=weighted"], port,
            new Dictionary<string, string> { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["Ccflare__SessionDurationMs"] = "120000" });

        var config = await server.Client.GetFromJsonAsync<JsonElement>("/api/config");

        Assert.Equal("weighted", config.GetProperty("lbStrategy").GetString());
        Assert.Equal(120000, config.GetProperty("sessionDurationMs").GetInt64());
    }

    [Fact]
    public async Task A_provider_defined_on_the_command_line_is_listed_takes_accounts_and_proxies_with_x_api_key()
    {
        var port = StandaloneProcess.FreePort();
        await using var server = await StandaloneProcess.StartAsync(
            ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", _dataDir.FullName,
             "--Ccflare:Providers:zai:Family=anthropic", $"--Ccflare:Providers:zai:BaseUrl={_upstream.BaseUrl}/api/anthropic"], port);

        var health = await server.Client.GetFromJsonAsync<JsonElement>("/health");
        Assert.Contains("zai", health.GetProperty("providers").EnumerateArray().Select(p => p.GetString()));

        using var add = await server.Client.PostAsync("/api/accounts", new StringContent("""{"name":"z","provider":"zai","api_key":"zai-standalone-key"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, add.StatusCode);
        using var unknown = await server.Client.PostAsync("/api/accounts", new StringContent("""{"name":"m","provider":"moonshot","api_key":"k"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("anthropic, claude-code, openai, codex, zai", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/zai/v1/messages")
        {
            Content = new StringContent("""{"model":"glm-4.6","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", "client-key-not-forwarded");
        using var proxied = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        var received = Assert.Single(_upstream.Received);
        Assert.Equal("/api/anthropic/v1/messages", received.Path);
        Assert.Equal("zai-standalone-key", received.Header("x-api-key"));
        Assert.Equal(0, await server.StopAsync());
    }

    [Fact]
    public async Task An_invalid_provider_definition_fails_fast_naming_the_key()
    {
        var (exitCode, _, stderr) = await StandaloneProcess.RunToEndAsync(
            ["--port", StandaloneProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", _dataDir.FullName,
             "--Ccflare:Providers:zai:Family=anthropic"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("Ccflare:Providers:zai:BaseUrl is required", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_configuration_fails_fast_naming_the_key()
    {
        var (exitCode, _, stderr) = await StandaloneProcess.RunToEndAsync(
            ["--port", StandaloneProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", _dataDir.FullName, "--Ccflare:SessionDurationMs=-5"]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Ccflare:SessionDurationMs", stderr);
    }
}
