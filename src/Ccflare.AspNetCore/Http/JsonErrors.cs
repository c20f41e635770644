using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Ccflare.Http;

/// <summary>Ccflare's error body: <c>{"error": "message", "details": {...}}</c>.</summary>
internal static class JsonErrors
{
    public const string ContentType = "application/json; charset=utf-8";

    public static Task WriteAsync(HttpContext context, int statusCode, string message, object? details = null)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = ContentType;
        return context.Response.WriteAsync(Serialize(message, details), context.RequestAborted);
    }

    public static IResult Result(int statusCode, string message, object? details = null) =>
        Results.Content(Serialize(message, details), ContentType, System.Text.Encoding.UTF8, statusCode);

    public static string Serialize(string message, object? details = null) =>
        JsonSerializer.Serialize(new ErrorBody(message, details), CcflareJson.Options);

    internal sealed record ErrorBody(string Error, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? Details = null);
}

internal static class CcflareJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
