using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Ccflare.OAuth;

/// <summary>Tokens returned by a token endpoint.</summary>
internal sealed record OAuthTokens(string AccessToken, string? RefreshToken, DateTimeOffset? ExpiresAt);

/// <summary>A token endpoint refused or failed; <see cref="Exception.Message"/> never contains a code, verifier or token.</summary>
internal sealed class OAuthTokenException(string message, int? statusCode, bool isTransient, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>HTTP status of the token endpoint's answer, or null when it could not be reached.</summary>
    public int? StatusCode { get; } = statusCode;

    /// <summary>True for network errors and 5xx/429 answers, which may succeed later.</summary>
    public bool IsTransient { get; } = isTransient;
}

/// <summary>Calls token endpoints (authorization-code exchange and refresh) through the named <see cref="HttpClient"/>.</summary>
internal sealed class OAuthTokenClient(IHttpClientFactory clientFactory, TimeProvider time)
{
    public const string HttpClientName = "Ccflare.OAuth";
    private const int MaxErrorLength = 300;

    public Task<OAuthTokens> ExchangeCodeAsync(OAuthClientSettings settings, string code, string state, string verifier, CancellationToken cancellationToken)
    {
        List<KeyValuePair<string, string>> fields =
        [
            new("grant_type", "authorization_code"),
            new("code", code),
        ];
        if (settings.JsonTokenRequests)
        {
            fields.Add(new("state", state));
        }
        fields.Add(new("client_id", settings.ClientId));
        fields.Add(new("redirect_uri", settings.RedirectUri));
        fields.Add(new("code_verifier", verifier));
        return SendAsync(settings, fields, cancellationToken);
    }

    public Task<OAuthTokens> RefreshAsync(OAuthClientSettings settings, string refreshToken, CancellationToken cancellationToken) =>
        SendAsync(settings,
        [
            new("grant_type", "refresh_token"),
            new("refresh_token", refreshToken),
            new("client_id", settings.ClientId),
        ], cancellationToken);

    private async Task<OAuthTokens> SendAsync(OAuthClientSettings settings, List<KeyValuePair<string, string>> fields, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.TokenUrl);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (settings.JsonTokenRequests)
        {
            var body = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in fields)
            {
                body[key] = value;
            }
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }
        else
        {
            request.Content = new FormUrlEncodedContent(fields);
        }

        var client = clientFactory.CreateClient(HttpClientName);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            // The socket error's text stays in the log (the inner exception), not in messages shown to users.
            throw new OAuthTokenException("The token endpoint could not be reached.", null, isTransient: true, ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OAuthTokenException("The token endpoint timed out.", null, isTransient: true);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new OAuthTokenException(
                    $"The token endpoint answered {status}: {DescribeError(text, fields)}",
                    status,
                    isTransient: status >= 500 || status == 429);
            }
            try
            {
                using var json = JsonDocument.Parse(text);
                var root = json.RootElement;
                var accessToken = root.TryGetProperty("access_token", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
                if (string.IsNullOrEmpty(accessToken))
                {
                    throw new OAuthTokenException("The token endpoint's answer has no access_token.", status, isTransient: false);
                }
                var refreshToken = root.TryGetProperty("refresh_token", out var r) && r.ValueKind == JsonValueKind.String && r.GetString() is { Length: > 0 } rt ? rt : null;
                DateTimeOffset? expiresAt = null;
                if (root.TryGetProperty("expires_in", out var e) && ReadSeconds(e) is { } seconds)
                {
                    expiresAt = time.GetUtcNow().AddSeconds(seconds);
                }
                else
                {
                    expiresAt = JwtExpiry(accessToken);
                }
                return new OAuthTokens(accessToken, refreshToken, expiresAt);
            }
            catch (JsonException)
            {
                throw new OAuthTokenException("The token endpoint's answer is not JSON.", status, isTransient: false);
            }
        }
    }

    private static double? ReadSeconds(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Number when element.TryGetDouble(out var n) => n,
        JsonValueKind.String when double.TryParse(element.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) => n,
        _ => null,
    };

    /// <summary>The <c>exp</c> claim of a JWT access token (Codex tokens are JWTs), or null.</summary>
    internal static DateTimeOffset? JwtExpiry(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }
        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
            using var json = JsonDocument.Parse(Convert.FromBase64String(payload));
            return json.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>The upstream's error text, shortened, with anything we sent (code, verifier, tokens) removed.</summary>
    private static string DescribeError(string body, List<KeyValuePair<string, string>> sent)
    {
        string message;
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            var error = root.ValueKind == JsonValueKind.Object ? root.GetProperty("error") : default;
            string? code = error.ValueKind == JsonValueKind.String ? error.GetString()
                : error.ValueKind == JsonValueKind.Object && error.TryGetProperty("type", out var t) ? t.GetString() : null;
            string? description = root.TryGetProperty("error_description", out var d) ? d.GetString()
                : error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) ? m.GetString() : null;
            message = (code, description) switch
            {
                (not null, not null) => code + ": " + description,
                (not null, null) => code,
                (null, not null) => description,
                _ => body,
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            message = body;
        }
        if (string.IsNullOrWhiteSpace(message))
        {
            message = "(no details)";
        }
        foreach (var (key, value) in sent)
        {
            if (key is "code" or "code_verifier" or "refresh_token" or "state" && value.Length > 0)
            {
                message = message.Replace(value, "[redacted]", StringComparison.Ordinal);
            }
        }
        return message.Length > MaxErrorLength ? message[..MaxErrorLength] + "..." : message;
    }
}
