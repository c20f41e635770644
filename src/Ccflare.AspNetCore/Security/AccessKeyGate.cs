using Ccflare.Diagnostics;
using Ccflare.Http;
using Ccflare.Proxy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Security;

/// <summary>
/// Requires a valid access key on every endpoint of a group (the proxy's <c>/v1/*</c>) when
/// <see cref="CcflareOptions.RequireAccessKeys"/> is on. When it is off the endpoints are left
/// exactly as they are: no wrapper, no header read, identical responses.
/// </summary>
internal static class AccessKeyGate
{
    public static TBuilder RequireCcflareAccessKeys<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Finally(static endpoint =>
        {
            var services = endpoint.ApplicationServices;
            if (endpoint.RequestDelegate is not { } next || !services.GetRequiredService<IOptions<CcflareOptions>>().Value.RequireAccessKeys)
            {
                return;
            }
            var keys = services.GetRequiredService<AccessKeyService>();
            var logger = services.GetRequiredService<ILogger<AccessKeyService>>();
            endpoint.RequestDelegate = context =>
            {
                var presented = AccessKeys.ReadPresented(context.Request.Headers);
                var user = keys.Authenticate(presented);
                if (user is not null)
                {
                    context.Items[ProxyContextKeys.UserId] = user.Id;
                    return next(context);
                }
                return RefuseOrRetryAsync(context, presented, keys, logger, next);
            };
        });
        return builder;
    }

    private static async Task RefuseOrRetryAsync(HttpContext context, string? presented, AccessKeyService keys, ILogger logger, RequestDelegate next)
    {
        // A well-formed key we do not know may belong to a user added by another process (the CLI).
        if (presented is not null && AccessKeys.IsWellFormed(presented)
            && await keys.RefreshAfterMissAsync(context.RequestAborted).ConfigureAwait(false)
            && keys.Authenticate(presented) is { } user)
        {
            context.Items[ProxyContextKeys.UserId] = user.Id;
            await next(context).ConfigureAwait(false);
            return;
        }
        var reason = presented is null ? "no access key" : "unknown or malformed access key";
        Log.AccessKeyRejected(logger, context.Request.Path.Value ?? string.Empty, reason);
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"ccflare\"";
        await JsonErrors.WriteAsync(context, StatusCodes.Status401Unauthorized,
            presented is null
                ? "An access key is required: send 'Authorization: Bearer ccfk_...' or 'x-api-key: ccfk_...'."
                : "The access key is not valid.").ConfigureAwait(false);
    }
}
