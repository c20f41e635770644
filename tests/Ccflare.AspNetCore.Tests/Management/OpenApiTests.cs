using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ccflare.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Ccflare.Tests.Management;

/// <summary>
/// <c>GET /openapi/v1.json</c> after <c>AddOpenApiDocument()</c>: every management endpoint is in it with
/// its schemas, the schemas match what the endpoints really answer, proxy routes are passthrough, and
/// the document is guarded like the management API.
/// </summary>
public sealed class OpenApiTests : IAsyncLifetime
{
    private const string AdminToken = "openapi-admin-token-0123456789";
    private const string RemoteHeader = "X-Test-Remote-Peer";
    private FakeUpstream _upstream = null!;
    private CcflareTestHost _host = null!;
    private JsonObject _document = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _host = await CcflareTestHost.StartAsync(
            options => options.AdminToken = AdminToken,
            build: ccflare => ccflare.AddOpenApiDocument(),
            map: app =>
            {
                // Makes a request look like it came from another machine (the management rule only trusts loopback peers).
                app.Use((context, next) =>
                {
                    if (context.Request.Headers.TryGetValue(RemoteHeader, out var address))
                    {
                        context.Connection.RemoteIpAddress = IPAddress.Parse(address.ToString());
                    }
                    return next(context);
                });
                app.MapCcflare();
            });
        using var response = await _host.Client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        _document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private JsonObject Paths => _document["paths"]!.AsObject();

    private JsonObject Schemas => _document["components"]!["schemas"]!.AsObject();

    [Fact]
    public void The_document_is_openapi_3_and_names_ccflare()
    {
        Assert.StartsWith("3.", (string)_document["openapi"]!, StringComparison.Ordinal);
        Assert.Equal("Ccflare", (string)_document["info"]!["title"]!);
    }

    [Fact]
    public void Every_management_endpoint_is_described_with_a_success_schema()
    {
        var endpoints = _host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && (raw.StartsWith("/api/", StringComparison.Ordinal) || raw == "/health") && !raw.Contains("**", StringComparison.Ordinal))
            .ToList();
        Assert.True(endpoints.Count >= 30, $"only {endpoints.Count} management endpoints found");

        foreach (var endpoint in endpoints)
        {
            var path = endpoint.RoutePattern.RawText!;
            foreach (var method in endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()!.HttpMethods)
            {
                var operation = Paths[path]?[method.ToLowerInvariant()]?.AsObject();
                Assert.True(operation is not null, $"{method} {path} is not in the document");
                Assert.False(string.IsNullOrEmpty((string?)operation["summary"]), $"{method} {path} has no summary");
                var success = operation["responses"]!.AsObject().FirstOrDefault(r => r.Key is "200" or "201");
                Assert.True(success.Value is not null, $"{method} {path} documents no success response");
                var content = success.Value!["content"]!.AsObject();
                Assert.True(content.Any(c => c.Value!["schema"] is not null), $"{method} {path} has no response schema");
            }
        }
    }

    [Fact]
    public void Request_bodies_and_route_and_query_parameters_are_described()
    {
        var create = Paths["/api/accounts"]!["post"]!;
        var createSchema = Resolve(create["requestBody"]!["content"]!["application/json"]!["schema"]!);
        Assert.Superset(new HashSet<string> { "name", "provider", "api_key", "base_url", "weight" }, PropertyNames(createSchema));

        var pause = Paths["/api/accounts/{id}/pause"]!["post"]!;
        Assert.Contains(pause["parameters"]!.AsArray(), p => (string)p!["name"]! == "id" && (string)p["in"]! == "path");

        var requests = Paths["/api/requests"]!["get"]!;
        Assert.Contains(requests["parameters"]!.AsArray(), p => (string)p!["name"]! == "limit" && (string)p["in"]! == "query");
        Assert.Contains(requests["parameters"]!.AsArray(), p => (string)p!["name"]! == "clientSessionId" && (string)p["in"]! == "query");
        var analytics = Paths["/api/analytics"]!["get"]!;
        Assert.Superset(new HashSet<string> { "range", "status", "mode", "modelBreakdown", "accounts", "models" },
            analytics["parameters"]!.AsArray().Select(p => (string)p!["name"]!).ToHashSet());
    }

    [Fact]
    public void Every_schema_reference_resolves_and_objects_name_their_properties()
    {
        var references = new List<string>();
        Collect(_document, references);
        Assert.NotEmpty(references);
        foreach (var reference in references)
        {
            Assert.StartsWith("#/components/schemas/", reference, StringComparison.Ordinal);
            Assert.True(Schemas.ContainsKey(reference["#/components/schemas/".Length..]), $"{reference} does not exist");
        }
        foreach (var (name, schema) in Schemas)
        {
            if (IsType(schema!, "object") && schema!["additionalProperties"] is null)
            {
                Assert.True(schema["properties"] is JsonObject { Count: > 0 }, $"schema {name} has no properties");
            }
        }
        // No secret field is part of an account as the API shows it.
        var account = Schemas["AccountResponse"]!.AsObject();
        Assert.Empty(PropertyNames(account).Intersect(["api_key", "apiKey", "access_token", "accessToken", "refresh_token", "refreshToken"]));
    }

    [Fact]
    public void Proxy_routes_are_described_as_passthrough()
    {
        var native = Paths["/v1/{provider}/{path}"]!.AsObject();
        var post = native["post"]!;
        Assert.Contains("Passthrough", (string)post["summary"]!, StringComparison.Ordinal);
        Assert.Contains(post["parameters"]!.AsArray(), p => (string)p!["name"]! == "provider");
        Assert.NotNull(post["responses"]!["default"]);

        var compat = Paths["/v1/ccflare/openai/chat/completions"]!["post"]!;
        Assert.Contains("Compatibility", (string)compat["summary"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schemas_match_what_the_endpoints_return()
    {
        using (var created = await _host.Client.PostAsJsonAsync("/api/accounts", new { name = "doc", provider = "anthropic", api_key = "sk-ant-openapi-test", base_url = _upstream.BaseUrl }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            await AssertMatchesAsync(created, "post", "/api/accounts", "201");
        }
        var id = (await _host.Client.GetFromJsonAsync<JsonArray>("/api/accounts"))![0]!["id"]!.GetValue<string>();
        using (var proxied = await _host.Client.PostAsync("/v1/anthropic/v1/messages",
            new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        }
        await _host.DrainHistoryAsync();

        foreach (var path in new[]
        {
            "/api/accounts", "/api/providers", "/api/strategies", "/api/config", "/api/config/strategy", "/api/config/retention", "/api/stats",
            "/api/analytics", "/api/requests", "/api/requests/detail", "/api/logs/history", "/health",
        })
        {
            using var response = await _host.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await AssertMatchesAsync(response, "get", path, "200");
        }

        var requestId = (await _host.Client.GetFromJsonAsync<JsonArray>("/api/requests"))![0]!["id"]!.GetValue<string>();
        using (var one = await _host.Client.GetAsync($"/api/requests/{requestId}"))
        {
            await AssertMatchesAsync(one, "get", "/api/requests/{id}", "200");
        }
        using (var renamed = await _host.Client.PostAsJsonAsync($"/api/accounts/{id}/rename", new { name = "doc-renamed" }))
        {
            await AssertMatchesAsync(renamed, "post", "/api/accounts/{id}/rename", "200");
        }
        using (var strategy = await _host.Client.PostAsJsonAsync("/api/config/strategy", new { strategy = "round-robin" }))
        {
            await AssertMatchesAsync(strategy, "post", "/api/config/strategy", "200");
        }
        using (var paused = await _host.Client.PostAsync($"/api/accounts/{id}/pause", null))
        {
            await AssertMatchesAsync(paused, "post", "/api/accounts/{id}/pause", "200");
        }
        using (var cleanup = await _host.Client.PostAsync("/api/maintenance/cleanup", null))
        {
            await AssertMatchesAsync(cleanup, "post", "/api/maintenance/cleanup", "200");
        }
        using (var compact = await _host.Client.PostAsync("/api/maintenance/compact", null))
        {
            await AssertMatchesAsync(compact, "post", "/api/maintenance/compact", "200");
        }
        using (var missing = await _host.Client.GetAsync("/api/requests/no-such-request"))
        {
            await AssertMatchesAsync(missing, "get", "/api/requests/{id}", "404");
        }
        using (var reset = await _host.Client.PostAsync("/api/stats/reset", null))
        {
            await AssertMatchesAsync(reset, "post", "/api/stats/reset", "200");
        }
    }

    [Fact]
    public async Task The_document_has_the_management_access_rules()
    {
        using var remote = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        remote.Headers.Add(RemoteHeader, "203.0.113.7");
        using var refused = await _host.Client.SendAsync(remote);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.DoesNotContain("\"paths\"", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var withToken = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        withToken.Headers.Add(RemoteHeader, "203.0.113.7");
        withToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        using var allowed = await _host.Client.SendAsync(withToken);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Without_AddOpenApiDocument_no_document_is_served()
    {
        await using var host = await CcflareTestHost.StartAsync();

        using var response = await host.Client.GetAsync("/openapi/v1.json");

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Under_a_prefix_the_document_and_its_paths_carry_the_prefix()
    {
        await using var host = await CcflareTestHost.StartAsync(build: ccflare => ccflare.AddOpenApiDocument(), map: app => app.MapCcflare("/llm"));

        var document = (await host.Client.GetFromJsonAsync<JsonObject>("/llm/openapi/v1.json"))!;

        var paths = document["paths"]!.AsObject();
        Assert.NotNull(paths["/llm/api/accounts"]);
        Assert.NotNull(paths["/llm/v1/{provider}/{path}"]);
        Assert.DoesNotContain(paths, p => p.Key.StartsWith("/api/", StringComparison.Ordinal));
    }

    private async Task AssertMatchesAsync(HttpResponseMessage response, string method, string path, string status)
    {
        Assert.Equal(int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), (int)response.StatusCode);
        var schema = Paths[path]?[method]?["responses"]?[status]?["content"]?["application/json"]?["schema"];
        Assert.True(schema is not null, $"{method} {path} documents no {status} JSON body");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        var problems = new List<string>();
        Validate(body, schema, $"{method.ToUpperInvariant()} {path} {status} $", problems);
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    /// <summary>Checks a real JSON value against a schema: types, every property known, every required property present.</summary>
    private void Validate(JsonNode? value, JsonNode? schemaNode, string at, List<string> problems)
    {
        if (schemaNode is null)
        {
            return;
        }
        var schema = Resolve(schemaNode);
        foreach (var combinator in new[] { "oneOf", "anyOf" })
        {
            if (schema[combinator] is JsonArray options)
            {
                var matches = options.Any(option =>
                {
                    var attempt = new List<string>();
                    Validate(value, option, at, attempt);
                    return attempt.Count == 0;
                });
                if (!matches)
                {
                    problems.Add($"{at}: matches none of {combinator}");
                }
                return;
            }
        }
        if (schema["type"] is null && schema["properties"] is null)
        {
            return; // any value
        }
        var kind = value switch
        {
            null => "null",
            JsonObject => "object",
            JsonArray => "array",
            JsonValue v when v.GetValueKind() == JsonValueKind.String => "string",
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString().Contains('.', StringComparison.Ordinal) || v.ToJsonString().Contains('e', StringComparison.OrdinalIgnoreCase) ? "number" : "integer",
            _ => "unknown",
        };
        var allowed = Types(schema);
        var typeOk = allowed.Count == 0 || allowed.Contains(kind) || (kind == "integer" && allowed.Contains("number"))
            // Ccflare's options write numbers as numbers; a schema may also allow their string form.
            || (kind is "integer" or "number" && allowed.Contains("string") && schema["pattern"] is not null);
        if (!typeOk)
        {
            problems.Add($"{at}: is {kind}, schema allows {string.Join('|', allowed)}");
            return;
        }
        switch (value)
        {
            case JsonObject obj:
                var properties = schema["properties"]?.AsObject();
                foreach (var (name, child) in obj)
                {
                    if (properties?[name] is { } property)
                    {
                        Validate(child, property, $"{at}.{name}", problems);
                    }
                    else if (schema["additionalProperties"] is { } additional)
                    {
                        Validate(child, additional, $"{at}.{name}", problems);
                    }
                    else
                    {
                        problems.Add($"{at}.{name}: not in the schema");
                    }
                }
                foreach (var required in schema["required"]?.AsArray() ?? [])
                {
                    if (!obj.ContainsKey((string)required!))
                    {
                        problems.Add($"{at}.{required}: required by the schema, missing");
                    }
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    Validate(array[i], schema["items"], $"{at}[{i}]", problems);
                }
                break;
        }
    }

    private JsonObject Resolve(JsonNode schema)
    {
        while (schema["$ref"] is { } reference)
        {
            schema = Schemas[((string)reference!)["#/components/schemas/".Length..]]!;
        }
        return schema.AsObject();
    }

    private HashSet<string> PropertyNames(JsonObject schema) => [.. (schema["properties"]?.AsObject() ?? []).Select(p => p.Key)];

    private static HashSet<string> Types(JsonObject schema) => schema["type"] switch
    {
        JsonArray many => [.. many.Select(t => (string)t!)],
        JsonValue one => [(string)one!],
        _ => [],
    };

    private static bool IsType(JsonNode schema, string type) => Types(schema.AsObject()).Contains(type);

    private static void Collect(JsonNode? node, List<string> references)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, child) in obj)
                {
                    if (name == "$ref" && child is JsonValue value && ((string)value!).StartsWith("#/components/schemas", StringComparison.Ordinal))
                    {
                        references.Add((string)value!);
                    }
                    else
                    {
                        Collect(child, references);
                    }
                }
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    Collect(item, references);
                }
                break;
        }
    }
}
