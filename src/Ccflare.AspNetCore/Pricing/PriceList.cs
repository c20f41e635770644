using System.Globalization;
using System.Text.Json;

namespace Ccflare.Pricing;

/// <summary>
/// Reads a price list: Ccflare's own format (<c>{"models": {"id": {"input", "output", "cacheRead",
/// "cacheWrite", "source", "updated"}}}</c>, USD per million tokens; the built-in table is one) or
/// LiteLLM's model price file (<c>{"id": {"input_cost_per_token", ..., "litellm_provider"}}</c>, USD per
/// token), told apart by their shape. Of a LiteLLM file only Anthropic and OpenAI entries are kept.
/// </summary>
internal static class PriceList
{
    private const string BuiltInResource = "Ccflare.Pricing.prices.json";
    private const decimal PerMillion = 1_000_000m;

    /// <summary>The prices shipped with the package.</summary>
    public static IReadOnlyDictionary<string, ModelPrice> BuiltIn { get; } = LoadBuiltIn();

    /// <summary>Whether the file replaces the built-in table (<c>"replace": true</c>) rather than extending it.</summary>
    public sealed record Contents(IReadOnlyDictionary<string, ModelPrice> Prices, bool Replace);

    /// <summary>Reads and validates <paramref name="path"/>; throws <see cref="PriceListException"/> saying what is wrong.</summary>
    public static Contents Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new PriceListException($"cannot be read ({ex.Message})");
        }
        return Parse(bytes);
    }

    public static Contents Parse(ReadOnlySpan<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new PriceListException($"is not valid JSON ({ex.Message})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new PriceListException("must be a JSON object");
            }
            if (root.TryGetProperty("models", out var models) && models.ValueKind == JsonValueKind.Object)
            {
                var replace = root.TryGetProperty("replace", out var r) && r.ValueKind == JsonValueKind.True;
                return new Contents(ReadCcflare(models), replace);
            }
            if (LooksLikeLiteLlm(root))
            {
                return new Contents(ReadLiteLlm(root), Replace: false);
            }
            throw new PriceListException(
                "has neither a \"models\" object (Ccflare's format) nor entries with \"input_cost_per_token\" (LiteLLM's format)");
        }
    }

    private static Dictionary<string, ModelPrice> ReadCcflare(JsonElement models)
    {
        var prices = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in models.EnumerateObject())
        {
            var entry = model.Value;
            if (entry.ValueKind != JsonValueKind.Object)
            {
                throw new PriceListException($"model '{model.Name}' must be an object");
            }
            prices[ModelId.Normalize(model.Name)] = new ModelPrice
            {
                Input = Required(entry, model.Name, "input"),
                Output = Required(entry, model.Name, "output"),
                CacheRead = Optional(entry, model.Name, "cacheRead") ?? Required(entry, model.Name, "input"),
                CacheWrite = Optional(entry, model.Name, "cacheWrite") ?? Required(entry, model.Name, "input"),
            };
            if (entry.TryGetProperty("updated", out var updated)
                && (updated.ValueKind != JsonValueKind.String || !DateOnly.TryParseExact(updated.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _)))
            {
                throw new PriceListException($"model '{model.Name}': \"updated\" must be a date like \"2026-12-04\"");
            }
        }
        return prices;
    }

    private static bool LooksLikeLiteLlm(JsonElement root)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Object
                && (property.Value.TryGetProperty("input_cost_per_token", out _) || property.Value.TryGetProperty("litellm_provider", out _)))
            {
                return true;
            }
        }
        return false;
    }

    private static Dictionary<string, ModelPrice> ReadLiteLlm(JsonElement root)
    {
        var prices = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in root.EnumerateObject())
        {
            var entry = model.Value;
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("litellm_provider", out var provider)
                || provider.ValueKind != JsonValueKind.String
                || provider.GetString() is not ("anthropic" or "openai")
                || !entry.TryGetProperty("input_cost_per_token", out _))
            {
                continue;
            }
            var input = Required(entry, model.Name, "input_cost_per_token") * PerMillion;
            prices[ModelId.Normalize(model.Name)] = new ModelPrice
            {
                Input = input,
                Output = (Optional(entry, model.Name, "output_cost_per_token") ?? 0m) * PerMillion,
                CacheRead = (Optional(entry, model.Name, "cache_read_input_token_cost") ?? input / PerMillion) * PerMillion,
                CacheWrite = (Optional(entry, model.Name, "cache_creation_input_token_cost") ?? input / PerMillion) * PerMillion,
            };
        }
        if (prices.Count == 0)
        {
            throw new PriceListException("has no entries with \"litellm_provider\" \"anthropic\" or \"openai\" and an \"input_cost_per_token\"");
        }
        return prices;
    }

    private static decimal Required(JsonElement entry, string model, string name) =>
        Optional(entry, model, name) ?? throw new PriceListException($"model '{model}' has no \"{name}\"");

    private static decimal? Optional(JsonElement entry, string model, string name)
    {
        if (!entry.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var price) || price < 0)
        {
            throw new PriceListException($"model '{model}': \"{name}\" must be a number, 0 or more");
        }
        return price;
    }

    private static IReadOnlyDictionary<string, ModelPrice> LoadBuiltIn()
    {
        using var stream = typeof(PriceList).Assembly.GetManifestResourceStream(BuiltInResource)
            ?? throw new InvalidOperationException($"The embedded price list '{BuiltInResource}' is missing from the assembly.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)).Prices;
    }
}

/// <summary>A price list that cannot be used; the message completes "The price list ...".</summary>
internal sealed class PriceListException(string message) : Exception(message);
