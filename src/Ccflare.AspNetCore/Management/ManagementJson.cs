using System.Text.Json;
using Ccflare.Http;
using Microsoft.AspNetCore.Http;

namespace Ccflare.Management;

/// <summary>Reads management request bodies with a size cap and clear errors.</summary>
internal static class ManagementJson
{
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>Returns the parsed body, or an error result to send back.</summary>
    public static Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpContext context) where T : class =>
        ReadAsync<T>(context, allowEmpty: false);

    private static async Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpContext context, bool allowEmpty)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return (default, JsonErrors.Result(StatusCodes.Status413PayloadTooLarge, $"Request body exceeds {MaxBodyBytes} bytes."));
        }
        Proxy.RequestBodyBuffer? body;
        try
        {
            body = await Proxy.RequestBodyBuffer.ReadAsync(context.Request.Body, context.Request.ContentLength, MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or BadHttpRequestException)
        {
            return (default, JsonErrors.Result(StatusCodes.Status400BadRequest, "The request body could not be read."));
        }
        if (body is null)
        {
            return (default, JsonErrors.Result(StatusCodes.Status413PayloadTooLarge, $"Request body exceeds {MaxBodyBytes} bytes."));
        }
        using (body)
        {
            if (body.Length == 0)
            {
                if (allowEmpty)
                {
                    return (default, null);
                }
                return (default, JsonErrors.Result(StatusCodes.Status400BadRequest, "A JSON request body is required."));
            }
            if (!IsJsonContentType(context.Request.ContentType))
            {
                // Forms and text/plain are what a cross-site page can send without a preflight.
                return (default, JsonErrors.Result(StatusCodes.Status415UnsupportedMediaType,
                    "Management request bodies must be JSON: send 'Content-Type: application/json'."));
            }
            if (!System.Text.Unicode.Utf8.IsValid(body.Span))
            {
                return (default, JsonErrors.Result(StatusCodes.Status400BadRequest, "The request body is not valid UTF-8."));
            }
            try
            {
                var value = JsonSerializer.Deserialize<T>(body.Span, CcflareJson.Options);
                return value is null || (value is JsonElement element && element.ValueKind != JsonValueKind.Object)
                    ? (default, JsonErrors.Result(StatusCodes.Status400BadRequest, "The request body must be a JSON object."))
                    : (value, null);
            }
            catch (JsonException ex)
            {
                var where = ex.Path is { Length: > 1 } path ? $" at '{path}'" : string.Empty;
                return (default, JsonErrors.Result(StatusCodes.Status400BadRequest, $"The request body is not valid JSON{where}.",
                    new { line = ex.LineNumber, position = ex.BytePositionInLine }));
            }
        }
    }

    /// <summary>
    /// Endpoint filter for actions that take no parameters (reset, cleanup, pause...): a body is optional,
    /// but when one is sent it must be an empty JSON object, so a garbled or mistaken call is refused before it deletes anything.
    /// </summary>
    public static async ValueTask<object?> RequireEmptyOrObjectBody(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            return await next(invocation).ConfigureAwait(false);
        }
        var (body, error) = await ReadAsync<JsonElement>(context, allowEmpty: true).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }
        if (body.ValueKind == JsonValueKind.Object && body.EnumerateObject().Any())
        {
            return JsonErrors.Result(StatusCodes.Status400BadRequest,
                $"{context.Request.Method} {context.Request.Path} takes no parameters; send no body or {{}}.");
        }
        return await next(invocation).ConfigureAwait(false);
    }

    internal static bool IsJsonContentType(string? contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
        && (mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.Type.Equals("application", StringComparison.OrdinalIgnoreCase) && mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)));

    public static IResult Success(string message) =>
        Results.Json(new SuccessBody(true, message), CcflareJson.Options);

    private sealed record SuccessBody(bool Success, string Message);
}
