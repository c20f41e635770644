using System.Text;
using System.Text.Json;
using Ccflare.Proxy;

namespace Ccflare.Recording;

/// <summary>Turns a finished <see cref="ProxyExchange"/> into a <see cref="RequestRecord"/>, off the request path.</summary>
internal static class RecordBuilder
{
    public static RequestRecord Build(ProxyExchange exchange, bool capturePayloads)
    {
        var requestBody = exchange.RequestBodyOwner is { Length: > 0 } owner ? owner.Span : default;
        var model = exchange.Model ?? ReadModel(requestBody);
        var account = exchange.Account?.Snapshot;

        var proxyOverheadMs = exchange.ResponseTimeMs is { } total
            ? Math.Max(0, total - (exchange.UpstreamWaitTicks * 1000.0 / System.Diagnostics.Stopwatch.Frequency))
            : (double?)null;

        return new RequestRecord
        {
            Id = exchange.Id,
            Timestamp = exchange.Timestamp,
            Method = exchange.Method,
            Path = exchange.Path,
            Provider = exchange.Provider,
            UpstreamPath = exchange.UpstreamPath,
            AccountUsed = account?.Id,
            AccountName = account?.Name,
            StatusCode = exchange.StatusCode,
            ErrorMessage = exchange.ErrorMessage,
            ResponseTimeMs = exchange.ResponseTimeMs,
            FailoverAttempts = exchange.FailoverAttempts,
            Model = model,
            ClientSessionId = exchange.ClientSessionId,
            TtftMs = exchange.FirstByteToClientMs,
            ProxyOverheadMs = proxyOverheadMs,
            UpstreamTtfbMs = exchange.UpstreamTtfbMs,
            StreamingDurationMs = exchange.IsStreaming ? exchange.StreamingDurationMs : null,
            UserId = exchange.UserId,
            Payload = capturePayloads ? BuildPayload(exchange, requestBody) : null,
        };
    }

    private static RequestPayload BuildPayload(ProxyExchange exchange, ReadOnlySpan<byte> requestBody) => new()
    {
        RequestHeaders = Masked(exchange.RequestHeaders),
        RequestBody = requestBody.IsEmpty ? null : requestBody.ToArray(),
        ResponseStatus = exchange.UpstreamStatus ?? exchange.StatusCode,
        ResponseHeaders = Masked(exchange.ResponseHeaders),
        ResponseBody = exchange.ResponseBody is { } body ? body.AsSpan(0, exchange.ResponseBodyLength).ToArray() : null,
        ResponseBodyTruncated = exchange.ResponseBodyTruncated,
        RateLimited = exchange.RateLimited,
        AccountsAttempted = exchange.AccountsAttempted is { } attempted ? [.. attempted] : [],
    };

    private static Dictionary<string, string> Masked(KeyValuePair<string, string>[]? headers)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (headers is null)
        {
            return result;
        }
        foreach (var (name, value) in headers)
        {
            result[name.ToLowerInvariant()] = HeaderRules.IsSensitive(name) ? HeaderRules.Mask(value) : value;
        }
        return result;
    }

    /// <summary>Reads the top-level <c>model</c> string of a JSON body without materialising the document.</summary>
    internal static string? ReadModel(ReadOnlySpan<byte> json)
    {
        if (json.IsEmpty)
        {
            return null;
        }
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    return null;
                }
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }
                var isModel = reader.ValueTextEquals("model"u8);
                if (!reader.Read())
                {
                    return null;
                }
                if (isModel && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString();
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }
}
