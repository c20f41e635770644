using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Ccflare.Tests.Providers;

/// <summary>Each kind of invalid <c>Ccflare:Providers</c> entry stops start-up with a message naming the key at fault.</summary>
public sealed class ProviderDefinitionValidationTests
{
    public static TheoryData<string, string?, string?, string?, string> Invalid => new()
    {
        // name, family, base URL, auth, expected message part
        { "zai", "mistral", "https://api.z.ai/api/anthropic", null, "Ccflare:Providers:zai:Family 'mistral' is not a provider family" },
        { "zai", "anthropic", null, null, "Ccflare:Providers:zai:BaseUrl is required" },
        { "zai", "anthropic", "not a url", null, "Ccflare:Providers:zai:BaseUrl must be an absolute http or https URL" },
        { "zai", "anthropic", "ftp://api.z.ai", null, "Ccflare:Providers:zai:BaseUrl must be an absolute http or https URL" },
        { "zai", "anthropic", "https://api.z.ai", "basic", "Ccflare:Providers:zai:Auth 'basic' is not supported" },
        { "zai", null, "https://api.z.ai", null, "Ccflare:Providers:zai is not a built-in provider" },
        { "ccflare", "openai", "https://gateway.example/v1", null, "Ccflare:Providers:ccflare: the name 'ccflare' is taken by the compatibility routes" },
        { "Z_AI", "anthropic", "https://api.z.ai", null, "Ccflare:Providers:Z_AI: a provider name must be" },
        { "codex", "anthropic", null, null, "Ccflare:Providers:codex:Family cannot change the family of the built-in provider 'codex'" },
        { "anthropic", null, null, "bearer", "Ccflare:Providers:anthropic:Auth applies only to providers defined by configuration" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task Invalid_definitions_stop_start_up_naming_the_key(string name, string? family, string? baseUrl, string? auth, string expected)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => CcflareTestHost.StartAsync(options =>
            options.Providers[name] = new ProviderOptions { Family = family, BaseUrl = baseUrl, Auth = auth }));

        Assert.Contains(failure.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("authorization")]
    [InlineData("x-api-key")]
    [InlineData("bad header")]
    public async Task Extra_headers_that_would_carry_credentials_or_break_the_request_are_refused(string header)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => CcflareTestHost.StartAsync(options =>
        {
            var router = new ProviderOptions { Family = "openai", BaseUrl = "https://openrouter.ai/api/v1" };
            router.ExtraHeaders[header] = "value";
            options.Providers["router"] = router;
        }));

        Assert.Contains(failure.Failures, f => f.StartsWith($"Ccflare:Providers:router:ExtraHeaders:{header} ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_valid_definition_starts_and_built_in_overrides_keep_working()
    {
        await using var host = await CcflareTestHost.StartAsync(options =>
        {
            options.Providers["together"] = new ProviderOptions { Family = "OpenAI", BaseUrl = "https://api.together.xyz/v1" };
            options.Providers["anthropic"] = new ProviderOptions { BaseUrl = "https://anthropic.internal.example" };
        });

        var providers = await host.Client.GetStringAsync("/api/providers");
        Assert.Contains("\"together\"", providers, StringComparison.Ordinal);
        Assert.Contains("https://anthropic.internal.example", providers, StringComparison.Ordinal);
    }
}
