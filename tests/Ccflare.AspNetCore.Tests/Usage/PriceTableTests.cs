using System.Text.Json;
using Ccflare.Pricing;
using Ccflare.Tests.Infrastructure;
using Ccflare.Usage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.Options;

namespace Ccflare.Tests.Usage;

public sealed class PriceTableTests
{
    private static PriceTable Table(IReadOnlyDictionary<string, ModelPrice>? overrides = null) =>
        new(overrides ?? new Dictionary<string, ModelPrice>(), NullLogger<PriceTable>.Instance);

    /// <summary>The shipped price list as the repository holds it (the assembly embeds this file).</summary>
    private static JsonElement DataFileEntry(string model)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(RepositoryPaths.Combine("src", "Ccflare.AspNetCore", "Pricing", "prices.json")));
        return document.RootElement.GetProperty("models").GetProperty(model).Clone();
    }

    [Theory]
    [InlineData("claude-opus-5-5", "claude-opus-5-5")]
    [InlineData("claude-opus-4-8", "claude-opus-4-8")]
    [InlineData("claude-opus-4-5", "claude-opus-4-5")]
    [InlineData("claude-sonnet-4-5", "claude-sonnet-4-5")]
    [InlineData("claude-sonnet-4-5-20250929", "claude-sonnet-4-5")]
    [InlineData("claude-haiku-4-5", "claude-haiku-4-5")]
    [InlineData("claude-haiku-4-5-20251001", "claude-haiku-4-5")]
    [InlineData("claude-opus-4-0", "claude-opus-4")]
    [InlineData("claude-3-5-haiku-latest", "claude-3-5-haiku")]
    [InlineData("anthropic/claude-opus-4-8", "claude-opus-4-8")]
    [InlineData("claude-opus-4-6[1m]", "claude-opus-4-6")]
    [InlineData("gpt-5.4", "gpt-5.4")]
    [InlineData("gpt-5.4-2026-03-05", "gpt-5.4")]
    [InlineData("gpt-5.4-mini", "gpt-5.4-mini")]
    [InlineData("gpt-5.4-nano", "gpt-5.4-nano")]
    [InlineData("gpt-5-codex", "gpt-5-codex")]
    [InlineData("gpt-5.1-codex-mini", "gpt-5.1-codex-mini")]
    [InlineData("codex-mini-latest", "codex-mini-latest")]
    [InlineData("gpt-5-mini-2025-08-07", "gpt-5-mini")]
    [InlineData("GPT-5", "gpt-5")]
    public void Current_models_are_priced_exactly_as_the_shipped_list_says(string model, string entry)
    {
        var expected = DataFileEntry(entry);

        var match = Table().Resolve(model);

        Assert.NotNull(match);
        Assert.False(match.Value.Estimated);
        var price = match.Value.Price;
        Assert.True(price.Input > 0 && price.Output > 0);
        Assert.Equal(expected.GetProperty("input").GetDecimal(), price.Input);
        Assert.Equal(expected.GetProperty("output").GetDecimal(), price.Output);
        Assert.Equal(expected.GetProperty("cacheRead").GetDecimal(), price.CacheRead);
        Assert.Equal(expected.GetProperty("cacheWrite").GetDecimal(), price.CacheWrite);
    }

    [Fact]
    public void Every_shipped_entry_says_where_its_prices_come_from_and_when()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(RepositoryPaths.Combine("src", "Ccflare.AspNetCore", "Pricing", "prices.json")));
        var models = document.RootElement.GetProperty("models").EnumerateObject().ToList();

        Assert.True(models.Count >= 40);
        foreach (var model in models)
        {
            Assert.StartsWith("https://", model.Value.GetProperty("source").GetString(), StringComparison.Ordinal);
            Assert.True(DateOnly.TryParseExact(model.Value.GetProperty("updated").GetString(), "yyyy-MM-dd", out _), model.Name);
            Assert.NotNull(PriceList.BuiltIn[model.Name]);
        }
    }

    [Fact]
    public void A_newer_generation_never_takes_an_older_ones_price_by_prefix()
    {
        var table = Table();

        // claude-opus-4 costs $15/$75; Opus 4.8 costs $5/$25 (what Claude Code reports for the same turn).
        Assert.Equal(5m, table.Find("claude-opus-4-8")!.Input);
        Assert.Equal(25m, table.Find("claude-opus-4-8-20260528")!.Output);
        Assert.Equal(4m, table.Find("claude-opus-5-5")!.Input);
        Assert.NotEqual(table.Find("gpt-5.4")!.Input, table.Find("gpt-5")!.Input);
    }

    [Fact]
    public void A_model_missing_from_the_list_is_priced_as_its_familys_newest_and_marked_estimated()
    {
        var table = Table();
        var usage = new UsageInfo { InputTokens = 1_000_000, PromptTokens = 1_000_000, OutputTokens = 1_000_000, CompletionTokens = 1_000_000 };

        var opus = table.Resolve("claude-opus-9-1-20300101");
        var mini = table.Resolve("gpt-5.9-mini");
        var cost = table.Cost("claude-opus-9-1", usage, out var unknown, out var estimated);

        Assert.True(opus!.Value.Estimated);
        Assert.Equal(table.Find("claude-opus-5-5"), opus.Value.Price); // the newest known claude-opus-*
        Assert.Equal(table.Find("gpt-5.4-mini"), mini!.Value.Price);    // the newest known gpt-*-mini
        Assert.Equal(24m, cost);                                       // $4 + $20
        Assert.False(unknown);
        Assert.True(estimated);
    }

    [Fact]
    public void Unknown_models_cost_zero_and_are_flagged_and_no_usage_means_no_cost()
    {
        var table = Table();
        var usage = new UsageInfo { InputTokens = 10, PromptTokens = 10, OutputTokens = 5, CompletionTokens = 5 };

        Assert.Equal(0m, table.Cost("my-private-model", usage, out var unknown, out var estimated));
        Assert.True(unknown);
        Assert.False(estimated);
        Assert.Null(table.Find("my-private-model"));
        Assert.Null(table.Find("llama-3-70b")); // a version, but no family the table knows
        Assert.Null(table.Cost("gpt-5", UsageInfo.Empty, out _));
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
        Assert.Equal(0.25m, table.Find("gpt-5-mini")!.Input); // the built-in entry of the model itself still wins
        Assert.Null(table.Find("my-model-2"));               // a configured prefix does not cover a newer version
        var usage = new UsageInfo { InputTokens = 1_000_000, PromptTokens = 1_000_000, OutputTokens = 1_000_000, CompletionTokens = 1_000_000 };
        Assert.Equal(9m, table.Cost("my-model", usage, out var unknown));
        Assert.False(unknown);
    }

    private static string WriteTempFile(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), "ccflare-prices-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void A_prices_file_extends_the_list_and_is_reloaded_when_it_changes_keeping_the_last_good_one_when_broken()
    {
        var path = WriteTempFile("""{ "models": { "my-model": { "input": 3, "output": 6, "source": "https://example.test/prices", "updated": "2026-12-01" } } }""");
        try
        {
            var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-04T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
            var logger = new ListLogger();
            using var table = new PriceTable(new Dictionary<string, ModelPrice>(), path, time, logger);

            Assert.Equal(3m, table.Find("my-model")!.Input);
            Assert.Equal(5m, table.Find("claude-opus-4-8")!.Input); // the built-in list is still there

            File.WriteAllText(path, """{ "models": { "my-model": { "input": 4, "output": 8 }, "claude-opus-4-8": { "input": 1, "output": 2 } } }""");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
            Assert.Equal(3m, table.Find("my-model")!.Input); // not before the next check
            time.Advance(PriceTable.ReloadInterval);
            Assert.Equal(4m, table.Find("my-model")!.Input);
            Assert.Equal(1m, table.Find("claude-opus-4-8")!.Input);

            File.WriteAllText(path, """{ "models": { "my-model": { "output": 8 } } }""");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(10));
            time.Advance(PriceTable.ReloadInterval);
            Assert.Equal(4m, table.Find("my-model")!.Input);
            Assert.Contains(logger.Messages, m => m.Contains("has no \"input\"", StringComparison.Ordinal) && m.Contains(path, StringComparison.Ordinal));

            File.WriteAllText(path, """{ "replace": true, "models": { "only-model": { "input": 1, "output": 1 } } }""");
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(15));
            time.Advance(PriceTable.ReloadInterval);
            Assert.Equal(1m, table.Find("only-model")!.Input);
            Assert.Null(table.Find("claude-opus-4-8"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_LiteLLM_price_file_is_recognised_and_converted_to_prices_per_million()
    {
        var path = WriteTempFile("""
            {
              "sample_spec": { "input_cost_per_token": 0.0, "litellm_provider": "one of https://docs.litellm.ai/docs/providers" },
              "claude-opus-7": { "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06, "litellm_provider": "anthropic", "mode": "chat" },
              "gpt-7": { "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 2.5e-07, "litellm_provider": "openai", "mode": "chat" },
              "bedrock/claude-opus-7": { "input_cost_per_token": 9e-06, "output_cost_per_token": 9e-05, "litellm_provider": "bedrock" }
            }
            """);
        try
        {
            using var table = new PriceTable(new Dictionary<string, ModelPrice>(), path, new FakeTimeProvider(), NullLogger.Instance);

            var opus = table.Resolve("claude-opus-7-20301231")!.Value;
            Assert.False(opus.Estimated);
            Assert.Equal(new ModelPrice { Input = 3m, Output = 15m, CacheRead = 0.3m, CacheWrite = 3.75m }, opus.Price);
            Assert.Equal(new ModelPrice { Input = 2.5m, Output = 15m, CacheRead = 0.25m, CacheWrite = 2.5m }, table.Find("gpt-7"));
            // The newest known opus is now claude-opus-7 (from the file), not a bedrock entry.
            Assert.Equal(3m, table.Resolve("claude-opus-8")!.Value.Price.Input);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_bad_prices_file_stops_start_up_with_a_message_naming_the_key()
    {
        var path = WriteTempFile("{ not json");
        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Ccflare:PricesFile"] = path }).Build();
            var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
            services.AddLogging();
            services.AddCcflare();
            using var provider = services.BuildServiceProvider();

            var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<CcflareOptions>>().Value);
            Assert.Contains($"Ccflare:PricesFile '{path}' is not valid JSON", error.Message, StringComparison.Ordinal);

            File.WriteAllText(path, """{ "something": 1 }""");
            var unknownFormat = new PriceTable(new Dictionary<string, ModelPrice>(), NullLogger.Instance);
            Assert.Throws<PriceListException>(() => PriceList.Load(path));
            Assert.Throws<PriceListException>(() => PriceList.Load(path + ".missing"));
            Assert.NotNull(unknownFormat.Find("claude-opus-4-8"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
            {
                Messages.Add(formatter(state, exception));
            }
        }
    }
}
