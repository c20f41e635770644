using System.Text.Json.Serialization;
using Ccflare.Hosting;
using Ccflare.Http;
using Ccflare.Providers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ccflare.Management;

/// <summary><c>GET /api/providers</c>: the providers this server serves, for the dashboard, the terminal UI and scripts.</summary>
internal static class ProviderEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/providers", (ProviderRegistry providers) =>
        {
            var list = new List<ProviderResponse>(providers.All.Count);
            foreach (var provider in providers.All)
            {
                list.Add(new ProviderResponse(provider.Name, provider.DisplayName, provider.Family.Name(), provider.AuthMethods, provider.IsBuiltIn, provider.BaseUrl));
            }
            return Results.Json(list, CcflareJson.Options);
        });

    private sealed record ProviderResponse(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("displayName")] string DisplayName,
        [property: JsonPropertyName("family")] string Family,
        [property: JsonPropertyName("authMethods")] IReadOnlyList<string> AuthMethods,
        [property: JsonPropertyName("builtIn")] bool BuiltIn,
        [property: JsonPropertyName("baseUrl")] string BaseUrl);
}
