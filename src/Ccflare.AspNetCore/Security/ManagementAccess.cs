using System.Net;
using System.Security.Cryptography;
using Ccflare.Diagnostics;
using Ccflare.Http;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Ccflare.Security;

/// <summary>
/// Who may use the management surface (the <c>/api</c> group, its streams, the dashboard).
/// Decided per request, in this order:
/// <list type="number">
/// <item>The endpoint carries the host's own authorization (<see cref="IAuthorizeData"/> or an
/// <see cref="AuthorizationPolicy"/>, e.g. <c>endpoints.Api.RequireAuthorization("admin")</c>) and no
/// <see cref="IAllowAnonymous"/>: Ccflare steps aside; ASP.NET Core's authorization decides.</item>
/// <item><see cref="CcflareOptions.AllowRemoteManagement"/> is on: allowed (the host protects it otherwise).</item>
/// <item>The TCP peer (<see cref="ConnectionInfo.RemoteIpAddress"/>, never a forwarded header) is a
/// loopback address, or there is no IP peer at all (in-process test server, Unix socket): allowed.</item>
/// <item><see cref="CcflareOptions.AdminToken"/> is set and the request sends
/// <c>Authorization: Bearer &lt;token&gt;</c> (compared in constant time): allowed.</item>
/// <item>Otherwise 401 (a token is configured, but missing or wrong) or 403 (no token configured).</item>
/// </list>
/// Unhandled exceptions in protected endpoints become a 500 JSON error without details.
/// </summary>
internal static class ManagementAccess
{
    /// <summary>Applies the management rule to every endpoint of <paramref name="builder"/> (reusable by the dashboard group).</summary>
    public static TBuilder RequireCcflareManagementAccess<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Finally(static endpoint =>
        {
            if (endpoint.RequestDelegate is not { } next)
            {
                return;
            }
            var services = endpoint.ApplicationServices;
            var options = services.GetRequiredService<IOptions<CcflareOptions>>().Value;
            var logger = services.GetRequiredService<ILogger<ManagementAccessMarker>>();
            var gate = HasHostAuthorization(endpoint.Metadata) || options.AllowRemoteManagement
                ? null
                : new Gate(string.IsNullOrEmpty(options.AdminToken) ? null : AccessKeys.HashBytes(options.AdminToken));
            endpoint.RequestDelegate = context => InvokeAsync(context, gate, next, logger);
        });
        return builder;
    }

    /// <summary>True when the host put its own authorization on the endpoint (and did not also allow anonymous access).</summary>
    internal static bool HasHostAuthorization(IList<object> metadata)
    {
        var authorize = false;
        foreach (var item in metadata)
        {
            if (item is IAllowAnonymous)
            {
                return false;
            }
            if (item is IAuthorizeData or AuthorizationPolicy)
            {
                authorize = true;
            }
        }
        return authorize;
    }

    /// <summary>Loopback (IPv4 127/8, ::1, IPv4-mapped loopback) or no IP peer.</summary>
    internal static bool IsLocal(IPAddress? remote)
    {
        if (remote is null)
        {
            return true;
        }
        if (remote.IsIPv4MappedToIPv6)
        {
            remote = remote.MapToIPv4();
        }
        return IPAddress.IsLoopback(remote);
    }

    internal static Refusal? Evaluate(HttpContext context, byte[]? adminTokenHash)
    {
        if (IsLocal(context.Connection.RemoteIpAddress))
        {
            return null;
        }
        if (adminTokenHash is null)
        {
            return new Refusal(StatusCodes.Status403Forbidden,
                "The management API is only reachable from this machine. Configure Ccflare:AdminToken or add an authorization policy to open it.",
                "not loopback and no admin token configured");
        }
        var header = context.Request.Headers[HeaderNames.Authorization];
        if (header.Count == 1 && header[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
            AccessKeys.HashInto(value.AsSpan(7).Trim(), presented);
            if (CryptographicOperations.FixedTimeEquals(presented, adminTokenHash))
            {
                return null;
            }
            return new Refusal(StatusCodes.Status401Unauthorized, "The admin token is not valid.", "wrong admin token");
        }
        return new Refusal(StatusCodes.Status401Unauthorized, "An admin token is required: send 'Authorization: Bearer <Ccflare:AdminToken>'.", "missing admin token");
    }

    private static async Task InvokeAsync(HttpContext context, Gate? gate, RequestDelegate next, ILogger logger)
    {
        if (gate is not null && Evaluate(context, gate.AdminTokenHash) is { } refusal)
        {
            Log.ManagementRefused(logger, context.Request.Method, context.Request.Path.Value ?? string.Empty,
                context.Connection.RemoteIpAddress?.ToString() ?? "(none)", refusal.Reason);
            if (refusal.StatusCode == StatusCodes.Status401Unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"ccflare-admin\"";
            }
            await JsonErrors.WriteAsync(context, refusal.StatusCode, refusal.Message).ConfigureAwait(false);
            return;
        }
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            Log.ManagementFailed(logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, ex);
            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }
            context.Response.Clear();
            await JsonErrors.WriteAsync(context, StatusCodes.Status500InternalServerError,
                "Internal error while handling the management request; see the server log.").ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    internal sealed record Refusal(int StatusCode, string Message, string Reason);

    private sealed record Gate(byte[]? AdminTokenHash);
}

/// <summary>Logger category for management access decisions.</summary>
internal sealed class ManagementAccessMarker;
