using System.Text.Json;
using Ccflare.Http;
using Microsoft.AspNetCore.Http;

namespace Ccflare.Management;

/// <summary>Reads management request bodies with a size cap and clear errors.</summary>
internal static class ManagementJson
{
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>Returns the parsed body, or an error result to send back.</summary>
    public static async Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpContext context) where T : class
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return (null, JsonErrors.Result(StatusCodes.Status413PayloadTooLarge, $"Request body exceeds {MaxBodyBytes} bytes."));
        }
        Proxy.RequestBodyBuffer? body;
        try
        {
            body = await Proxy.RequestBodyBuffer.ReadAsync(context.Request.Body, context.Request.ContentLength, MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or BadHttpRequestException)
        {
            return (null, JsonErrors.Result(StatusCodes.Status400BadRequest, "The request body could not be read."));
        }
        if (body is null)
        {
            return (null, JsonErrors.Result(StatusCodes.Status413PayloadTooLarge, $"Request body exceeds {MaxBodyBytes} bytes."));
        }
        using (body)
        {
            if (body.Length == 0)
            {
                return (null, JsonErrors.Result(StatusCodes.Status400BadRequest, "A JSON request body is required."));
            }
            if (!System.Text.Unicode.Utf8.IsValid(body.Span))
            {
                return (null, JsonErrors.Result(StatusCodes.Status400BadRequest, "The request body is not valid UTF-8."));
            }
            try
            {
                var value = JsonSerializer.Deserialize<T>(body.Span, CcflareJson.Options);
                return value is null
                    ? (null, JsonErrors.Result(StatusCodes.Status400BadRequest, "The request body must be a JSON object."))
                    : (value, null);
            }
            catch (JsonException ex)
            {
                var where = ex.Path is { Length: > 1 } path ? $" at '{path}'" : string.Empty;
                return (null, JsonErrors.Result(StatusCodes.Status400BadRequest, $"The request body is not valid JSON{where}.",
                    new { line = ex.LineNumber, position = ex.BytePositionInLine }));
            }
        }
    }

    public static IResult Success(string message) =>
        Results.Json(new SuccessBody(true, message), CcflareJson.Options);

    private sealed record SuccessBody(bool Success, string Message);
}
