using System.Text.Json;

namespace Ccflare.StandaloneServer;

/// <summary>
/// Maps ccflare's <c>ccflare.json</c> keys and its environment variables onto the
/// <c>Ccflare:*</c> configuration keys, so existing ccflare set-ups work unchanged.
/// </summary>
internal static class CcflareJsonConfiguration
{
    private static readonly (string FileKey, string EnvVar, string ConfigKey)[] Keys =
    [
        ("lb_strategy", "LB_STRATEGY", "Ccflare:LbStrategy"),
        ("client_id", "CLIENT_ID", "Ccflare:Providers:claude-code:ClientId"),
        ("retry_attempts", "RETRY_ATTEMPTS", "Ccflare:RetryAttempts"),
        ("retry_delay_ms", "RETRY_DELAY_MS", "Ccflare:RetryDelayMs"),
        ("retry_backoff", "RETRY_BACKOFF", "Ccflare:RetryBackoff"),
        ("session_duration_ms", "SESSION_DURATION_MS", "Ccflare:SessionDurationMs"),
        ("port", "PORT", "Ccflare:Port"),
        ("stream_body_max_bytes", "STREAM_BODY_MAX_BYTES", "Ccflare:StreamBodyMaxBytes"),
        ("require_access_keys", "REQUIRE_ACCESS_KEYS", "Ccflare:RequireAccessKeys"),
        ("passthrough_when_no_accounts", "PASSTHROUGH_WHEN_NO_ACCOUNTS", "Ccflare:PassthroughWhenNoAccounts"),
        ("max_request_body_bytes", "MAX_REQUEST_BODY_BYTES", "Ccflare:MaxRequestBodyBytes"),
        ("capture_payloads", "CAPTURE_PAYLOADS", "Ccflare:CapturePayloads"),
        ("admin_token", "CCFLARE_ADMIN_TOKEN", "Ccflare:AdminToken"),
    ];

    /// <summary>Values from <c>ccflare.json</c> (lowest precedence of the two).</summary>
    public static Dictionary<string, string?> ReadFile(string path)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (!File.Exists(path))
        {
            return values;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"{path} is not valid JSON: {ex.Message}", ex);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidOperationException($"{path} must contain a JSON object.");
            }
            foreach (var (fileKey, _, configKey) in Keys)
            {
                if (document.RootElement.TryGetProperty(fileKey, out var value) && value.ValueKind != JsonValueKind.Null)
                {
                    values[configKey] = value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
                }
            }
        }
        return values;
    }

    /// <summary>ccflare's environment variables (they win over the file).</summary>
    public static Dictionary<string, string?> ReadEnvironment(Func<string, string?> environment)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (_, envVar, configKey) in Keys)
        {
            if (environment(envVar) is { Length: > 0 } value)
            {
                values[configKey] = value;
            }
        }
        return values;
    }
}
