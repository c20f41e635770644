using System.Net;
using System.Text.Json.Serialization;
using Ccflare.Http;
using Ccflare.Management;
using Ccflare.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ccflare.OAuth;

/// <summary>The OAuth sign-in endpoints: <c>/api/auth/...</c> and the browser callback <c>/oauth/{provider}/callback</c>.</summary>
internal static class OAuthEndpoints
{
    public static void Map(RouteGroupBuilder api, RouteGroupBuilder root)
    {
        api.MapPost("/auth/{provider}/init", async (string provider, HttpContext context, OAuthSignIn signIn) =>
        {
            var (body, error) = await ManagementJson.ReadAsync<InitRequest>(context).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
            var result = await signIn.StartAsync(provider, body!.Name, context.RequestAborted).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                return JsonErrors.Result(result.StatusCode, result.Error!);
            }
            var start = result.Value!;
            return Results.Json(new
            {
                success = true,
                message = $"Open the URL to authorize account '{body.Name}', then complete the sign-in with the code.",
                data = new { authUrl = start.AuthUrl, sessionId = start.SessionId, provider = start.Provider, expiresAt = start.ExpiresAt },
            }, CcflareJson.Options);
        });

        api.MapPost("/auth/{provider}/complete", async (string provider, HttpContext context, OAuthSignIn signIn) =>
        {
            var (body, error) = await ManagementJson.ReadAsync<CompleteRequest>(context).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
            var result = await signIn.CompleteAsync(provider, body!.SessionId, body.Code, callbackState: null, context.RequestAborted).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                return JsonErrors.Result(result.StatusCode, result.Error!);
            }
            var account = result.Value!;
            return Results.Json(new
            {
                success = true,
                message = $"Account '{account.Name}' added",
                data = new { provider = account.Provider, accountId = account.Id, name = account.Name },
            }, CcflareJson.Options);
        });

        api.MapGet("/auth/session/{id}/status", async (string id, OAuthSignIn signIn, CancellationToken ct) =>
        {
            var result = await signIn.GetStatusAsync(id, ct).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                // ccflare's dashboard polls until the status is final: a session it does not know (never started, or
                // already cleaned up) is over for it, so it reads "expired" rather than an error.
                return result.StatusCode == StatusCodes.Status404NotFound
                    ? Results.Json(new { status = "expired" }, CcflareJson.Options)
                    : JsonErrors.Result(result.StatusCode, result.Error!);
            }
            var s = result.Value!;
            return Results.Json(new
            {
                status = s.Status,
                sessionId = s.SessionId,
                provider = s.Provider,
                name = s.AccountName,
                expiresAt = s.ExpiresAt,
                accountId = s.AccountId,
            }, CcflareJson.Options);
        });

        root.MapGet("/oauth/{provider}/callback", async (string provider, HttpContext context, OAuthSignIn signIn) =>
        {
            var query = context.Request.Query;
            string? code = query["code"];
            string? state = query["state"];
            string? upstreamError = query["error"];
            if (!string.IsNullOrEmpty(upstreamError))
            {
                return Page(StatusCodes.Status400BadRequest, "Sign-in failed", "The provider reported: " + upstreamError);
            }
            if (string.IsNullOrEmpty(code) || string.IsNullOrEmpty(state))
            {
                return Page(StatusCodes.Status400BadRequest, "Sign-in failed", "The callback needs both code and state.");
            }
            var result = await signIn.CompleteAsync(provider, state, code, state, context.RequestAborted).ConfigureAwait(false);
            return result.Succeeded
                ? Page(StatusCodes.Status200OK, "Signed in", $"Account '{result.Value!.Name}' was added. You can close this window.")
                : Page(result.StatusCode, "Sign-in failed", result.Error!);
        }).RequireCcflareBrowserRules(BrowserSurface.Management);
    }

    private static IResult Page(int statusCode, string title, string message)
    {
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Ccflare: {WebUtility.HtmlEncode(title)}</title></head>
            <body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto;">
            <h1>{WebUtility.HtmlEncode(title)}</h1>
            <p>{WebUtility.HtmlEncode(message)}</p>
            </body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", System.Text.Encoding.UTF8, statusCode);
    }

    internal sealed record InitRequest
    {
        [JsonPropertyName("name")] public string? Name { get; init; }
    }

    internal sealed record CompleteRequest
    {
        [JsonPropertyName("sessionId")] public string? SessionId { get; init; }
        [JsonPropertyName("code")] public string? Code { get; init; }
    }
}
