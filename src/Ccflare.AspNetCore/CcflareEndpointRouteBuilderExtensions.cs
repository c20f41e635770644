using Ccflare;
using Ccflare.Dashboard;
using Ccflare.Management;
using Ccflare.Proxy;
using Ccflare.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Ccflare's endpoints.</summary>
public static class CcflareEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the proxy (<c>/v1/...</c>), the management API (<c>/api/...</c>), <c>/health</c> and the
    /// web dashboard (<c>/</c>) under <paramref name="prefix"/>. Returns the groups so the host can add authorization,
    /// CORS or rate limiting to each.
    /// </summary>
    public static CcflareEndpoints MapCcflare(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);

        var root = endpoints.MapGroup(prefix);

        var proxy = root.MapGroup("/v1");
        // Resolved once, from the application's provider: touching context.RequestServices would create a DI scope per request.
        var services = endpoints.ServiceProvider;
        ProxyHandler? handler = null;
        proxy.Map("/{provider}/{**rest}", context => (handler ??= services.GetRequiredService<ProxyHandler>()).HandleNativeAsync(context))
            .WithDisplayName("Ccflare proxy");
        Ccflare.Compat.CompatEndpoints.Map(proxy);
        proxy.RequireCcflareAccessKeys();
        // Added last so it runs first: a browser preflight carries no access key.
        proxy.RequireCcflareBrowserRules(BrowserSurface.Proxy);

        var api = root.MapGroup("/api");
        AccountEndpoints.Map(api);
        ConfigEndpoints.Map(api);
        ProviderEndpoints.Map(api);
        RequestEndpoints.Map(api);
        UserEndpoints.Map(api);
        StatsEndpoints.Map(api);
        LogEndpoints.Map(api);
        MaintenanceEndpoints.Map(api);
        // Unknown management paths (and methods) answer with a JSON error, not an empty 404/405.
        api.Map("/{**rest}", static context => Ccflare.Http.JsonErrors.WriteAsync(context, StatusCodes.Status404NotFound,
            $"No management endpoint {context.Request.Method} {context.Request.Path}."))
            .WithDisplayName("Ccflare management fallback");
        api.RequireCcflareManagementAccess();
        api.RequireCcflareBrowserRules(BrowserSurface.Management);

        var health = root.MapGroup(string.Empty);
        Ccflare.OAuth.OAuthEndpoints.Map(api, health);
        ConfigEndpoints.MapHealth(endpoints, health);

        var dashboard = root.MapGroup(string.Empty);
        DashboardEndpoints.Map(dashboard);
        dashboard.RequireCcflareManagementAccess();
        dashboard.RequireCcflareBrowserRules(BrowserSurface.Management);

        return new CcflareEndpoints(proxy, api, health, dashboard);
    }

    /// <summary>
    /// Maps only the web dashboard at <paramref name="prefix"/> (<c>{prefix}/</c>, its pages and
    /// <c>{prefix}/assets/*</c>). The dashboard calls the management API relative to the same prefix,
    /// so map <c>MapCcflare(prefix)</c>'s API there too. Like the management API it answers only
    /// loopback callers, the admin token, or whoever the host's own authorization on the returned group admits.
    /// </summary>
    public static RouteGroupBuilder MapCcflareDashboard(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);

        var dashboard = endpoints.MapGroup(prefix);
        DashboardEndpoints.Map(dashboard);
        dashboard.RequireCcflareManagementAccess();
        dashboard.RequireCcflareBrowserRules(BrowserSurface.Management);
        return dashboard;
    }
}
