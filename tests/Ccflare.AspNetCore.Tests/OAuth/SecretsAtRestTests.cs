using System.Net;
using System.Net.Http.Json;
using System.Text;
using Ccflare.Accounts;
using Ccflare.Security;
using Ccflare.StandaloneServer.Cli;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ccflare.Tests.OAuth;

/// <summary>
/// Secrets never reach the database files in clear text. Parameterised by store: add a case to
/// <see cref="Stores"/> (for example SQLite's <c>ccflare.db</c>, LiteDB's file) to cover another store.
/// </summary>
public sealed class SecretsAtRestTests : IAsyncLifetime
{
    private const string ApiKey = "sk-ant-api03-PLAINTEXT-API-KEY-0123456789";
    private const string AccessToken = "sk-ant-oat01-PLAINTEXT-ACCESS-TOKEN";
    private const string RefreshToken = "sk-ant-ort01-PLAINTEXT-REFRESH-TOKEN";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ccflare-secrets-" + Guid.NewGuid().ToString("N"));
    private FakeAuthServer _auth = null!;
    private FakeUpstream _upstream = null!;

    public static TheoryData<string> Stores => ["sqlite", "litedb"];

    private static ICcflareStore CreateStore(string kind, string dir) => kind switch
    {
        "sqlite" => new Ccflare.Storage.Sqlite.SqliteStore(new Ccflare.Storage.Sqlite.SqliteStorageOptions { DatabasePath = Path.Combine(dir, "ccflare.db") }),
        "litedb" => new Ccflare.Storage.LiteDb.LiteDbStore(new Ccflare.Storage.LiteDb.LiteDbStorageOptions { DatabasePath = Path.Combine(dir, "ccflare.litedb") }),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static async Task CloseAsync(ICcflareStore store)
    {
        if (store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    public async Task InitializeAsync()
    {
        _auth = await FakeAuthServer.StartAsync();
        _auth.Respond = r => r["grant_type"] == "authorization_code"
            ? (200, $$"""{"access_token":"{{AccessToken}}","refresh_token":"{{RefreshToken}}","expires_in":3600}""")
            : (400, """{"error":"invalid_grant"}""");
        _upstream = await FakeUpstream.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        await _auth.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Task<CcflareTestHost> StartHostAsync(string kind) => CcflareTestHost.StartAsync(
        configure: o =>
        {
            o.DataProtectionKeysPath = Path.Combine(_dir, "keys");
            o.Providers["claude-code"] = new ProviderOptions { TokenUrl = _auth.TokenUrl, BaseUrl = _upstream.BaseUrl };
        },
        build: b => b.Services.Replace(ServiceDescriptor.Singleton<ICcflareStore>(_ => CreateStore(kind, Path.Combine(_dir, "data")))));

    private static string ReadAllFiles(string dir)
    {
        var text = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            text.Append(Encoding.UTF8.GetString(File.ReadAllBytes(file))).Append('\n');
        }
        return text.ToString();
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task The_database_files_hold_no_api_key_access_token_or_refresh_token_in_clear_text(string kind)
    {
        string verifier;
        await using (var host = await StartHostAsync(kind))
        {
            await host.AddAccountAsync("key-account", "anthropic", ApiKey, _upstream.BaseUrl);
            using var init = await host.Client.PostAsJsonAsync("/api/auth/claude-code/init", new { name = "oauth-account" });
            var data = (await init.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("data");
            var state = QueryHelpers.ParseQuery(new Uri(data.GetProperty("authUrl").GetString()!).Query)["state"].ToString();
            using var pending = await host.Client.PostAsJsonAsync("/api/auth/claude-code/init", new { name = "pending-account" });
            using var complete = await host.Client.PostAsJsonAsync("/api/auth/claude-code/complete", new { sessionId = data.GetProperty("sessionId").GetString(), code = "the-code#" + state });
            Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
            verifier = Assert.Single(_auth.Requests)["code_verifier"]!;
            using var proxied = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("""{"model":"m","max_tokens":1,"messages":[]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
            await host.Services.GetRequiredService<AccountStatePersister>().FlushAsync(CancellationToken.None);
        }

        var raw = ReadAllFiles(Path.Combine(_dir, "data"));
        Assert.Contains("key-account", raw, StringComparison.Ordinal);
        Assert.Contains(SecretProtector.Prefix, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(AccessToken, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(RefreshToken, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(verifier, raw, StringComparison.Ordinal);

        // A new process with the same key directory decrypts them.
        _upstream.Received.Clear();
        await using (var host = await StartHostAsync(kind))
        {
            using var anthropic = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("""{"model":"m","max_tokens":1,"messages":[]}""", Encoding.UTF8, "application/json"));
            using var claude = await host.Client.PostAsync("/v1/claude-code/v1/messages", new StringContent("""{"model":"m","max_tokens":1,"messages":[]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, anthropic.StatusCode);
            Assert.Equal(HttpStatusCode.OK, claude.StatusCode);
        }
        var received = _upstream.Received.ToArray();
        Assert.Equal(ApiKey, received[0].Header("x-api-key"));
        Assert.Equal("Bearer " + AccessToken, received[1].Header("authorization"));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Plaintext_rows_from_older_versions_still_load_and_are_encrypted_on_the_next_write(string kind)
    {
        var store = CreateStore(kind, Path.Combine(_dir, "data"));
        await store.InitializeAsync(CancellationToken.None);
        await store.AddAccountAsync(new Account { Id = Guid.NewGuid().ToString(), Name = "legacy", Provider = "anthropic", ApiKey = ApiKey, BaseUrl = _upstream.BaseUrl, CreatedAt = DateTimeOffset.UnixEpoch }, CancellationToken.None);
        await CloseAsync(store);
        Assert.Contains(ApiKey, ReadAllFiles(Path.Combine(_dir, "data")), StringComparison.Ordinal);

        await using (var host = await StartHostAsync(kind))
        {
            using var proxied = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("""{"model":"m","max_tokens":1,"messages":[]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
            Assert.Equal(ApiKey, Assert.Single(_upstream.Received).Header("x-api-key"));
            await host.Services.GetRequiredService<AccountStatePersister>().FlushAsync(CancellationToken.None);
        }
        Assert.DoesNotContain(ApiKey, ReadAllFiles(Path.Combine(_dir, "data")), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Secrets_that_cannot_be_decrypted_keep_their_ciphertext_and_take_the_account_out_of_rotation(string kind)
    {
        await using (var host = await StartHostAsync(kind))
        {
            await host.AddAccountAsync("orphan", "anthropic", ApiKey, _upstream.BaseUrl);
        }
        Directory.Delete(Path.Combine(_dir, "keys"), recursive: true);
        var before = ReadAllFiles(Path.Combine(_dir, "data"));

        await using (var host = await StartHostAsync(kind))
        {
            using var proxied = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("""{"model":"m","max_tokens":1,"messages":[]}""", Encoding.UTF8, "application/json"));
            Assert.NotEqual(HttpStatusCode.OK, proxied.StatusCode);
            Assert.Empty(_upstream.Received);
            var accounts = await host.Client.GetStringAsync("/api/accounts");
            Assert.Contains("decrypt_failed", accounts, StringComparison.Ordinal);
            Assert.DoesNotContain(SecretProtector.Prefix, accounts, StringComparison.Ordinal);
        }
        var after = ReadAllFiles(Path.Combine(_dir, "data"));
        var ciphertext = System.Text.RegularExpressions.Regex.Match(before, System.Text.RegularExpressions.Regex.Escape(SecretProtector.Prefix) + "[A-Za-z0-9_-]{20,}").Value;
        Assert.NotEmpty(ciphertext);
        Assert.Contains(ciphertext, after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_that_configures_data_protection_keeps_its_key_repository()
    {
        var hostKeys = Path.Combine(_dir, "host-keys");
        await using (var host = await CcflareTestHost.StartAsync(
            configure: o => o.DataProtectionKeysPath = Path.Combine(_dir, "keys"),
            build: b => b.Services.Replace(ServiceDescriptor.Singleton<ICcflareStore>(_ => CreateStore("sqlite", Path.Combine(_dir, "data")))),
            host: builder => Microsoft.AspNetCore.DataProtection.DataProtectionBuilderExtensions.PersistKeysToFileSystem(
                Microsoft.Extensions.DependencyInjection.DataProtectionServiceCollectionExtensions.AddDataProtection(builder.Services),
                new DirectoryInfo(hostKeys))))
        {
            await host.AddAccountAsync("hosted", "anthropic", ApiKey, _upstream.BaseUrl);
        }

        Assert.NotEmpty(Directory.GetFiles(hostKeys, "key-*.xml"));
        Assert.False(Directory.Exists(Path.Combine(_dir, "keys")));
        Assert.DoesNotContain(ApiKey, ReadAllFiles(Path.Combine(_dir, "data")), StringComparison.Ordinal);
    }
}
