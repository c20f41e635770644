using Ccflare;
using Ccflare.Management;
using Ccflare.Proxy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Ccflare's endpoints.</summary>
public static class CcflareEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the proxy (<c>/v1/...</c>), the management API (<c>/api/...</c>) and <c>/health</c>
    /// under <paramref name="prefix"/>. Returns the groups so the host can add authorization,
    /// CORS or rate limiting to each.
    /// </summary>
    public static CcflareEndpoints MapCcflare(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);

        var root = endpoints.MapGroup(prefix);

        var proxy = root.MapGroup("/v1");
        proxy.Map("/{provider}/{**rest}", static context => context.RequestServices.GetRequiredService<ProxyHandler>().HandleNativeAsync(context))
            .WithDisplayName("Ccflare proxy");
        Ccflare.Compat.CompatEndpoints.Map(proxy);

        var api = root.MapGroup("/api");
        AccountEndpoints.Map(api);
        ConfigEndpoints.Map(api);
        RequestEndpoints.Map(api);

        var health = root.MapGroup(string.Empty);
        ConfigEndpoints.MapHealth(endpoints, health);

        return new CcflareEndpoints(proxy, api, health);
    }
}
