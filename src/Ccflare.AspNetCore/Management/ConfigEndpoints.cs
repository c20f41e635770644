using System.Globalization;
using System.Text.Json.Serialization;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Hosting;
using Ccflare.Http;
using Ccflare.Providers;
using Ccflare.Strategies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Management;

internal static class ConfigEndpoints
{
    public const long MaxSessionDurationMs = 7L * 24 * 3600 * 1000;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/strategies", (StrategySelector strategies) => Results.Json(strategies.Names, CcflareJson.Options));

        api.MapGet("/config", (StrategySelector strategies, RuntimeSettings settings, IOptions<CcflareOptions> options) =>
            Results.Json(new ConfigResponse(strategies.Current.Name, options.Value.Port ?? 8080, settings.SessionDurationMs), CcflareJson.Options));

        api.MapPatch("/config", async (HttpContext context, RuntimeSettings settings, ICcflareStore store, StrategySelector strategies, IOptions<CcflareOptions> options) =>
        {
            var (body, error) = await ManagementJson.ReadAsync<ConfigUpdateRequest>(context).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
            if (body!.SessionDurationMs is not { } duration)
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, "sessionDurationMs is required.");
            }
            if (duration is < 1000 or > MaxSessionDurationMs)
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, $"sessionDurationMs must be between 1000 and {MaxSessionDurationMs}.");
            }
            await store.SetSettingAsync(RuntimeSettings.SessionDurationKey, duration.ToString(CultureInfo.InvariantCulture), context.RequestAborted).ConfigureAwait(false);
            settings.SessionDurationMs = duration;
            return Results.Json(new ConfigResponse(strategies.Current.Name, options.Value.Port ?? 8080, settings.SessionDurationMs), CcflareJson.Options);
        });

        api.MapGet("/config/strategy", (StrategySelector strategies) => Results.Json(new { strategy = strategies.Current.Name }, CcflareJson.Options));

        api.MapPost("/config/strategy", async (HttpContext context, StrategySelector strategies, ICcflareStore store, ILogger<StrategySelector> logger) =>
        {
            var (body, error) = await ManagementJson.ReadAsync<StrategyRequest>(context).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
            if (string.IsNullOrWhiteSpace(body!.Strategy))
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, "strategy is required.", new { available = strategies.Names });
            }
            if (!strategies.Contains(body.Strategy))
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, $"Unknown strategy '{body.Strategy}'.", new { available = strategies.Names });
            }
            await store.SetSettingAsync(RuntimeSettings.StrategyKey, body.Strategy, context.RequestAborted).ConfigureAwait(false);
            strategies.TrySelect(body.Strategy);
            Log.StrategyChanged(logger, strategies.Current.Name);
            return Results.Json(new { success = true, message = $"Strategy set to '{strategies.Current.Name}'", data = new { strategy = strategies.Current.Name }, strategy = strategies.Current.Name }, CcflareJson.Options);
        });
    }

    public static void MapHealth(IEndpointRouteBuilder endpoints, RouteGroupBuilder health)
    {
        health.MapGet("/health", (AccountRegistry registry, StrategySelector strategies, ProviderRegistry providers, TimeProvider time) =>
        {
            var now = time.GetUtcNow();
            var usable = UsableAccounts(registry, providers, now);
            var degraded = usable.ContainsValue(0);
            return Results.Json(new HealthResponse(degraded ? "degraded" : "ok", registry.All.Count, now, strategies.Current.Name, providers.Names, usable), CcflareJson.Options);
        });
    }

    /// <summary>Usable accounts (not paused, not cooling down, with a usable credential) of each served provider that has accounts.</summary>
    private static Dictionary<string, int> UsableAccounts(AccountRegistry registry, ProviderRegistry providers, DateTimeOffset now)
    {
        var usable = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in providers.Names)
        {
            var accounts = registry.ForProvider(name);
            if (accounts.IsEmpty)
            {
                continue;
            }
            var count = 0;
            foreach (var account in accounts)
            {
                count += account.IsAvailable(now) ? 1 : 0;
            }
            usable[name] = count;
        }
        return usable;
    }

    internal sealed record ConfigResponse(
        [property: JsonPropertyName("lbStrategy")] string LbStrategy,
        [property: JsonPropertyName("port")] int Port,
        [property: JsonPropertyName("sessionDurationMs")] long SessionDurationMs);

    internal sealed record ConfigUpdateRequest
    {
        [JsonPropertyName("sessionDurationMs")] public long? SessionDurationMs { get; init; }
    }

    internal sealed record StrategyRequest
    {
        [JsonPropertyName("strategy")] public string? Strategy { get; init; }
    }

    internal sealed record HealthResponse(string Status, int Accounts, DateTimeOffset Timestamp, string Strategy, IReadOnlyList<string> Providers, IReadOnlyDictionary<string, int> UsableAccounts);
}
