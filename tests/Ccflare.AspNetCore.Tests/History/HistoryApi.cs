using System.Net.Http.Json;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.History;

/// <summary>Helpers for reading the history API in tests.</summary>
internal static class HistoryApi
{
    public static async Task<JsonElement[]> RequestsAsync(CcflareTestHost host, int limit = 50)
    {
        await host.DrainHistoryAsync();
        return (await host.Client.GetFromJsonAsync<JsonElement[]>($"/api/requests?limit={limit}"))!;
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static long? Long(this JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    public static double? Double(this JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    public static decimal? Decimal(this JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDecimal() : null;

    public static string? Str(this JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Reads SSE <c>data:</c> payloads from a live stream.</summary>
    public static async IAsyncEnumerable<string> SseDataAsync(Stream stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var reader = new StreamReader(stream);
        while (!ct.IsCancellationRequested)
        {
            var line = await reader.ReadLineAsync(ct);
            if (line is null)
            {
                yield break;
            }
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                yield return line[6..];
            }
        }
    }
}
