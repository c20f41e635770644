using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Anthropic.Models.Messages;
using Ccflare.Proxy;
using Ccflare.Security;
using Ccflare.Storage;
using Ccflare.StandaloneServer.Cli;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using OpenAI.Chat;

namespace Ccflare.Tests.Security;

public sealed partial class AccessKeyTests : IAsyncLifetime
{
    private const string AccountKey = "sk-ant-account-key-for-access-tests";
    private const string MessageBody = """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}""";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    [GeneratedRegex("^ccfk_[0-9a-f]{64}$")]
    private static partial Regex KeyShape();

    private static async Task<string> CreateUserAsync(CcflareTestHost host, string name)
    {
        using var response = await host.Client.PostAsJsonAsync("/api/users", new { name });
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("key").GetString()!;
    }

    private static HttpRequestMessage Messages(string? apiKey = null, string? bearer = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages")
        {
            Content = new StringContent(MessageBody, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("anthropic-version", "2023-06-01");
        if (apiKey is not null)
        {
            request.Headers.Add("x-api-key", apiKey);
        }
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return request;
    }

    [Fact]
    public void Generated_keys_are_ccfk_plus_64_lowercase_hex_and_unique()
    {
        var keys = new HashSet<string>();
        for (var i = 0; i < 200; i++)
        {
            var key = AccessKeys.Generate();
            Assert.Matches(KeyShape(), key);
            Assert.True(AccessKeys.IsWellFormed(key));
            Assert.True(keys.Add(key));
        }
        Assert.False(AccessKeys.IsWellFormed("ccfk_" + new string('A', 64)));
        Assert.False(AccessKeys.IsWellFormed("ccfk_" + new string('a', 63)));
        Assert.False(AccessKeys.IsWellFormed("sk-ant-" + new string('a', 64)));
    }

    [Fact]
    public void Hash_is_lowercase_hex_sha256_of_the_key()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", AccessKeys.Hash("abc"));
        var key = AccessKeys.Generate();
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))), AccessKeys.Hash(key));
    }

    [Fact]
    public void Presented_key_comes_from_x_api_key_or_bearer()
    {
        var key = AccessKeys.Generate();
        Assert.Equal(key, AccessKeys.ReadPresented(new HeaderDictionary { ["x-api-key"] = key }));
        Assert.Equal(key, AccessKeys.ReadPresented(new HeaderDictionary { ["Authorization"] = "Bearer " + key }));
        Assert.Equal(key, AccessKeys.ReadPresented(new HeaderDictionary { ["Authorization"] = "bearer " + key }));
        Assert.Equal(key, AccessKeys.ReadPresented(new HeaderDictionary { ["x-api-key"] = "sk-other", ["Authorization"] = "Bearer " + key }));
        Assert.Null(AccessKeys.ReadPresented(new HeaderDictionary { ["Authorization"] = "Basic abc" }));
        Assert.Null(AccessKeys.ReadPresented(new HeaderDictionary()));
    }

    [Fact]
    public async Task User_endpoints_answer_404_while_the_flag_is_off_and_the_proxy_asks_for_no_key()
    {
        await using var host = await CcflareTestHost.StartAsync();
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);

        foreach (var response in new[]
        {
            await host.Client.GetAsync("/api/users"),
            await host.Client.PostAsJsonAsync("/api/users", new { name = "alice" }),
            await host.Client.DeleteAsync("/api/users/some-id"),
        })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            ErrorJson.AssertError(await response.Content.ReadAsStringAsync());
        }
        Assert.Empty(await host.Services.GetRequiredService<ICcflareStore>().GetUsersAsync(default));

        using var proxied = await host.Client.SendAsync(Messages());
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        using var withBogusKey = await host.Client.SendAsync(Messages(apiKey: AccessKeys.Generate()));
        Assert.Equal(HttpStatusCode.OK, withBogusKey.StatusCode);
    }

    [Fact]
    public async Task With_the_flag_on_every_proxy_request_needs_a_valid_key()
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true);
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        await host.AddAccountAsync("o", "openai", "sk-openai-access-tests", _upstream.OpenAIBaseUrl);
        var key = await CreateUserAsync(host, "alice");
        Assert.Matches(KeyShape(), key);

        foreach (var (request, label) in new[]
        {
            (Messages(), "no key"),
            (Messages(apiKey: AccessKeys.Generate()), "unknown key"),
            (Messages(bearer: AccessKeys.Generate()), "unknown bearer"),
            (Messages(apiKey: "sk-ant-not-a-ccflare-key"), "malformed"),
            (Messages(apiKey: key.ToUpperInvariant()), "wrong case"),
            (Messages(apiKey: key[..^1]), "truncated"),
            (new HttpRequestMessage(HttpMethod.Get, "/v1/openai/models"), "other route"),
            (new HttpRequestMessage(HttpMethod.Get, "/v1/not-a-provider/x"), "unknown provider"),
        })
        {
            using (request)
            using (var response = await host.Client.SendAsync(request))
            {
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, label);
                Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
                ErrorJson.AssertError(await response.Content.ReadAsStringAsync());
            }
        }
        Assert.Empty(_upstream.Received);

        using (var request = Messages(apiKey: key))
        using (var response = await host.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var request = Messages(bearer: key))
        using (var response = await host.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The official SDKs: Anthropic sends x-api-key, OpenAI sends Authorization: Bearer.
        var message = await SdkClients.Anthropic(host.BaseUrl + "/v1/anthropic", key).Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 10,
            Messages = [new UserMessageParam("Hi")],
        });
        Assert.Equal("msg_fake_01", message.ID);
        ChatCompletion completion = await SdkClients.OpenAI(host.BaseUrl + "/v1/openai", key).GetChatClient("gpt-4.1-mini").CompleteChatAsync([new UserChatMessage("Hi")]);
        Assert.Equal("Hello from fake", completion.Content[0].Text);

        Assert.Equal(4, _upstream.Received.Count);
        foreach (var received in _upstream.Received)
        {
            Assert.True(received.Credential is AccountKey or "sk-openai-access-tests");
            foreach (var (name, value) in received.Headers)
            {
                Assert.DoesNotContain("ccfk_", value, StringComparison.Ordinal);
                Assert.False(name.StartsWith("x-ccflare-", StringComparison.OrdinalIgnoreCase), name);
            }
        }
    }

    [Fact]
    public async Task Records_carry_the_user_id_and_the_requests_api_shows_the_user_name()
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true);
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var aliceKey = await CreateUserAsync(host, "alice");
        var bobKey = await CreateUserAsync(host, "bob");

        using (var request = Messages(apiKey: aliceKey))
        {
            (await host.Client.SendAsync(request)).Dispose();
        }
        using (var request = Messages(bearer: bobKey))
        {
            (await host.Client.SendAsync(request)).Dispose();
        }
        await host.DrainHistoryAsync();

        var users = await host.Services.GetRequiredService<ICcflareStore>().GetUsersAsync(default);
        var alice = users.Single(u => u.Name == "alice");
        var bob = users.Single(u => u.Name == "bob");
        var records = await host.Services.GetRequiredService<ICcflareStore>().GetRecentRequestsAsync(10, false, default);
        Assert.Equal(2, records.Count);
        Assert.Contains(records, r => r.UserId == alice.Id);
        Assert.Contains(records, r => r.UserId == bob.Id);

        using var json = JsonDocument.Parse(await host.Client.GetStringAsync("/api/requests"));
        var rows = json.RootElement.EnumerateArray().ToList();
        Assert.Contains(rows, r => r.GetProperty("userId").GetString() == alice.Id && r.GetProperty("userName").GetString() == "alice");
        Assert.Contains(rows, r => r.GetProperty("userId").GetString() == bob.Id && r.GetProperty("userName").GetString() == "bob");
    }

    [Fact]
    public async Task Keys_are_stored_only_as_sha256_and_shown_once()
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true);
        using var created = await host.Client.PostAsJsonAsync("/api/users", new { name = "alice" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var createdJson = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var key = createdJson.RootElement.GetProperty("key").GetString()!;
        var id = createdJson.RootElement.GetProperty("user").GetProperty("id").GetString()!;

        var stored = Assert.Single(await host.Services.GetRequiredService<ICcflareStore>().GetUsersAsync(default));
        Assert.Equal(id, stored.Id);
        Assert.Equal(AccessKeys.Hash(key), stored.AccessKeyHash);
        Assert.DoesNotContain(key, JsonSerializer.Serialize(stored), StringComparison.Ordinal);

        var list = await host.Client.GetStringAsync("/api/users");
        Assert.Contains("alice", list, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list, StringComparison.Ordinal);
        Assert.DoesNotContain(stored.AccessKeyHash, list, StringComparison.Ordinal);
        Assert.DoesNotContain("ccfk_", list, StringComparison.Ordinal);

        using var duplicate = await host.Client.PostAsJsonAsync("/api/users", new { name = "alice" });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        ErrorJson.AssertError(await duplicate.Content.ReadAsStringAsync());
        using var invalid = await host.Client.PostAsJsonAsync("/api/users", new { name = " " });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Single(await host.Services.GetRequiredService<ICcflareStore>().GetUsersAsync(default));
    }

    [Fact]
    public async Task A_deleted_users_key_stops_working_at_once()
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true);
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var key = await CreateUserAsync(host, "alice");
        var id = (await host.Services.GetRequiredService<ICcflareStore>().GetUsersAsync(default)).Single().Id;
        using (var request = Messages(apiKey: key))
        using (var response = await host.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var deleted = await host.Client.DeleteAsync($"/api/users/{id}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        using var again = await host.Client.DeleteAsync($"/api/users/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);

        using (var request = Messages(apiKey: key))
        using (var response = await host.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task Authentication_reads_users_from_memory_not_from_the_store_per_request()
    {
        CountingProxy<ICcflareStore>? counter = null;
        // A frozen clock, so the reload-on-miss interval cannot elapse on a slow machine.
        await using var host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true, time: new FakeTimeProvider(), build: b =>
        {
            var (proxy, c) = CountingProxy<ICcflareStore>.Wrap(new InMemoryStore());
            counter = c;
            b.Services.Replace(ServiceDescriptor.Singleton(proxy));
        });
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var key = await CreateUserAsync(host, "alice");
        var before = counter!.Count(nameof(ICcflareStore.GetUsersAsync));

        for (var i = 0; i < 20; i++)
        {
            using var request = Messages(apiKey: key);
            using var response = await host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // Wrong keys do not hit the store either (the reload-on-miss is rate limited and just happened).
        for (var i = 0; i < 20; i++)
        {
            using var request = Messages(apiKey: AccessKeys.Generate());
            using var response = await host.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.Equal(before, counter.Count(nameof(ICcflareStore.GetUsersAsync)));
    }

    [Fact]
    public async Task A_user_added_by_another_process_works_after_the_rate_limited_reload()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true, time: time);
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);

        // What the CLI of a second process does: write the user row straight into the store.
        var key = AccessKeys.Generate();
        var store = host.Services.GetRequiredService<ICcflareStore>();
        Assert.True(await store.AddUserAsync(new AccessKeyUser { Id = "cli-user", Name = "carol", AccessKeyHash = AccessKeys.Hash(key), CreatedAt = time.GetUtcNow() }, default));

        using (var request = Messages(apiKey: key))
        using (var response = await host.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        time.Advance(AccessKeyService.MissRefreshInterval + TimeSpan.FromSeconds(1));
        using (var request = Messages(apiKey: key))
        using (var response = await host.Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await host.DrainHistoryAsync();
        Assert.Contains(await store.GetRecentRequestsAsync(10, false, default), r => r.UserId == "cli-user");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_internal_user_header_never_reaches_the_upstream(bool requireKeys)
    {
        await using var host = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = requireKeys);
        await host.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var key = requireKeys ? await CreateUserAsync(host, "alice") : null;

        using var request = Messages(apiKey: key);
        request.Headers.Add("x-ccflare-user-id", "spoofed-user");
        request.Headers.Add("X-Ccflare-Anything", "internal");
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var received = Assert.Single(_upstream.Received);
        Assert.Null(received.Header("x-ccflare-user-id"));
        Assert.Null(received.Header("x-ccflare-anything"));
        Assert.True(HeaderRules.ForwardRequestHeader("anthropic-version"));
        Assert.False(HeaderRules.ForwardRequestHeader("x-ccflare-user-id"));
        Assert.False(HeaderRules.ForwardRequestHeader("X-CCFLARE-USER-ID"));

        await host.DrainHistoryAsync();
        var record = Assert.Single(await host.Services.GetRequiredService<ICcflareStore>().GetRecentRequestsAsync(10, true, default));
        Assert.NotEqual("spoofed-user", record.UserId);
        if (!requireKeys)
        {
            Assert.Null(record.UserId);
        }
    }

    [Fact]
    public async Task With_the_flag_off_proxy_responses_are_byte_identical()
    {
        await using var off = await CcflareTestHost.StartAsync();
        await using var on = await CcflareTestHost.StartAsync(o => o.RequireAccessKeys = true);
        await off.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        await on.AddAccountAsync("a", "anthropic", AccountKey, _upstream.BaseUrl);
        var key = await CreateUserAsync(on, "alice");

        var streamBody = MessageBody.Replace("\"max_tokens\":10", "\"max_tokens\":10,\"stream\":true", StringComparison.Ordinal);
        foreach (var body in new[] { MessageBody, streamBody, "not json at all" })
        {
            var offResult = await CaptureAsync(off, body, apiKey: "sk-client-whatever");
            var offUpstream = _upstream.Received.Last();
            var onResult = await CaptureAsync(on, body, apiKey: key);
            var onUpstream = _upstream.Received.Last();

            Assert.Equal(offResult.Status, onResult.Status);
            Assert.Equal(offResult.Body, onResult.Body);
            Assert.Equal(offResult.Headers, onResult.Headers);
            Assert.Equal(Comparable(offUpstream), Comparable(onUpstream));
            Assert.Equal(offUpstream.Body, onUpstream.Body);
            Assert.Equal(offUpstream.Path, onUpstream.Path);
        }

        static string Comparable(ReceivedRequest r) => string.Join("\n", r.Headers
            .Where(h => h.Key is not ("traceparent" or "tracestate" or "request-id" or "host"))
            .OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase)
            .Select(h => h.Key.ToLowerInvariant() + ": " + h.Value));
    }

    private static async Task<(int Status, byte[] Body, string Headers)> CaptureAsync(CcflareTestHost host, string body, string apiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", apiKey);
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await host.Client.SendAsync(request);
        var headers = string.Join("\n", response.Headers.Concat(response.Content.Headers)
            .Where(h => h.Key != "Date")
            .OrderBy(h => h.Key, StringComparer.Ordinal)
            .Select(h => h.Key + ": " + string.Join(",", h.Value)));
        return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(), headers);
    }

    [Fact]
    public async Task Cli_adds_a_user_prints_the_key_once_and_lists_without_secrets()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddCcflare(o => o.RequireAccessKeys = true);
        await using var provider = services.BuildServiceProvider();

        Assert.Null(await UserCli.TryRunAsync(["--serve"], provider, TextWriter.Null, TextWriter.Null));
        Assert.Null(await UserCli.TryRunAsync([], provider, TextWriter.Null, TextWriter.Null));

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, await UserCli.TryRunAsync(["--add-user", "alice"], provider, stdout, stderr));
        var keys = Regex.Matches(stdout.ToString(), "ccfk_[0-9a-f]{64}");
        var key = Assert.Single(keys).Value;
        var stored = Assert.Single(await provider.GetRequiredService<ICcflareStore>().GetUsersAsync(default));
        Assert.Equal(AccessKeys.Hash(key), stored.AccessKeyHash);

        Assert.Equal(1, await UserCli.TryRunAsync(["--add-user", "alice"], provider, new StringWriter(), stderr));
        Assert.Contains("already exists", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, await UserCli.TryRunAsync(["--add-user"], provider, new StringWriter(), new StringWriter()));

        var list = new StringWriter();
        Assert.Equal(0, await UserCli.TryRunAsync(["--list-users"], provider, list, new StringWriter()));
        Assert.Contains("alice", list.ToString(), StringComparison.Ordinal);
        Assert.Contains(stored.Id, list.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("ccfk_", list.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(stored.AccessKeyHash, list.ToString(), StringComparison.Ordinal);
    }
}
