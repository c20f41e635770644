using Ccflare.Pricing;
using Ccflare.Usage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Ccflare.Tests.Usage;

public sealed class PriceTableTests
{
    private static PriceTable Table(IReadOnlyDictionary<string, ModelPrice>? overrides = null) =>
        new(overrides ?? new Dictionary<string, ModelPrice>(), NullLogger<PriceTable>.Instance);

    [Theory]
    [InlineData("claude-sonnet-4-5-20250929", 3, 15)]
    [InlineData("claude-sonnet-4-5", 3, 15)]
    [InlineData("claude-opus-4-1-20250805", 15, 75)]
    [InlineData("claude-opus-4-5-20251101", 5, 25)]
    [InlineData("claude-haiku-4-5", 1, 5)]
    [InlineData("claude-3-5-haiku-latest", 0.8, 4)]
    [InlineData("gpt-4o-mini-2024-07-18", 0.15, 0.6)]
    [InlineData("gpt-4o-2024-08-06", 2.5, 10)]
    [InlineData("gpt-4.1-mini", 0.4, 1.6)]
    [InlineData("gpt-4.1", 2, 8)]
    [InlineData("o4-mini-2025-04-16", 1.1, 4.4)]
    [InlineData("o3", 2, 8)]
    [InlineData("gpt-5-mini", 0.25, 2)]
    [InlineData("gpt-5-codex", 1.25, 10)]
    [InlineData("GPT-5", 1.25, 10)]
    public void Longest_prefix_wins(string model, double input, double output)
    {
        var price = Table().Find(model);

        Assert.NotNull(price);
        Assert.Equal((decimal)input, price.Input);
        Assert.Equal((decimal)output, price.Output);
    }

    [Fact]
    public void Anthropic_cost_prices_cache_reads_and_writes()
    {
        var usage = UsageParser.Parse(Fixture.Bytes("anthropic-message.json"), false);

        var cost = Table().Cost(usage.Model, usage, out var unknown);

        // 25 x 3 + 100 x 3.75 + 2000 x 0.30 + 42 x 15 = 1680 per million.
        Assert.Equal(0.00168m, cost);
        Assert.False(unknown);
    }

    [Fact]
    public void OpenAI_cost_bills_reasoning_as_part_of_output_and_cached_input_at_the_cached_price()
    {
        var usage = UsageParser.Parse(Fixture.Bytes("openai-chat.json"), false);

        var cost = Table().Cost(usage.Model, usage, out _);

        // o4-mini: 176 x 1.10 + 1024 x 0.275 + 300 x 4.40 = 1795.2 per million (the 128 reasoning tokens are inside the 300).
        Assert.Equal(0.0017952m, cost);
    }

    [Fact]
    public void Responses_cost_uses_the_responding_model()
    {
        var usage = UsageParser.Parse(Fixture.Bytes("openai-responses.json"), false);

        // gpt-5: 400 x 1.25 + 100 x 0.125 + 80 x 10 = 1312.5 per million.
        Assert.Equal(0.0013125m, Table().Cost(usage.Model, usage, out _));
    }

    [Fact]
    public void Unknown_models_cost_zero_and_are_flagged_and_no_usage_means_no_cost()
    {
        var table = Table();
        var usage = new UsageInfo { InputTokens = 10, PromptTokens = 10, OutputTokens = 5, CompletionTokens = 5 };

        Assert.Equal(0m, table.Cost("my-private-model", usage, out var unknown));
        Assert.True(unknown);
        Assert.Null(table.Find("my-private-model"));
        Assert.Null(table.Cost("gpt-5", UsageInfo.Empty, out _));
    }

    [Fact]
    public void Configuration_overrides_and_extends_the_table()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ccflare:Pricing:my-model:Input"] = "3",
            ["Ccflare:Pricing:my-model:Output"] = "6",
            ["Ccflare:Pricing:gpt-5:Input"] = "2",
            ["Ccflare:Pricing:gpt-5:Output"] = "20",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddCcflare();
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<CcflareOptions>>().Value;
        var table = new PriceTable(options.Pricing, NullLogger<PriceTable>.Instance);

        Assert.Equal(3m, table.Find("my-model-v2")!.Input);
        Assert.Equal(20m, table.Find("gpt-5-2025-08-07")!.Output);
        Assert.Equal(0.25m, table.Find("gpt-5-mini")!.Input); // a longer built-in prefix still wins
        var usage = new UsageInfo { InputTokens = 1_000_000, PromptTokens = 1_000_000, OutputTokens = 1_000_000, CompletionTokens = 1_000_000 };
        Assert.Equal(9m, table.Cost("my-model", usage, out var unknown));
        Assert.False(unknown);
    }
}
