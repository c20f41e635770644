using Microsoft.AspNetCore.Http;

namespace Ccflare.Analytics;

/// <summary>A time range of <c>/api/analytics</c> and the bucket width its time series uses.</summary>
internal sealed record AnalyticsRange(string Name, TimeSpan Length, string BucketName, TimeSpan Bucket)
{
    /// <summary>1h by minute, 6h by 5 minutes, 24h and 7d by hour, 30d by day.</summary>
    public static readonly IReadOnlyList<AnalyticsRange> All =
    [
        new("1h", TimeSpan.FromHours(1), "1m", TimeSpan.FromMinutes(1)),
        new("6h", TimeSpan.FromHours(6), "5m", TimeSpan.FromMinutes(5)),
        new("24h", TimeSpan.FromHours(24), "1h", TimeSpan.FromHours(1)),
        new("7d", TimeSpan.FromDays(7), "1h", TimeSpan.FromHours(1)),
        new("30d", TimeSpan.FromDays(30), "1d", TimeSpan.FromDays(1)),
    ];

    /// <summary>The range named in a query (<c>24h</c> when absent), or null with the message of a 400.</summary>
    public static AnalyticsRange? FromQuery(string? name, out string? error)
    {
        name ??= "24h";
        var range = Find(name);
        error = range is null ? $"range must be one of 1h, 6h, 24h, 7d, 30d (was '{name}')." : null;
        return range;
    }

    public static AnalyticsRange? Find(string name)
    {
        foreach (var range in All)
        {
            if (string.Equals(range.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return range;
            }
        }
        return null;
    }
}

/// <summary>The parsed query of <c>GET /api/analytics</c>.</summary>
internal sealed record AnalyticsRequest
{
    public required AnalyticsRange Range { get; init; }

    /// <summary>Account names (ccflare filters by name); empty = all.</summary>
    public IReadOnlyList<string> Accounts { get; init; } = [];

    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>Providers (ccflare's <c>providers=</c>); empty = all.</summary>
    public IReadOnlyList<string> Providers { get; init; } = [];

    /// <summary>Access-key user ids; empty = all.</summary>
    public IReadOnlyList<string> Users { get; init; } = [];

    public RequestStatusFilter Status { get; init; } = RequestStatusFilter.All;

    public bool Cumulative { get; init; }

    public bool ModelBreakdown { get; init; }

    /// <summary>Reads and validates the query string; returns an error message for 400 on bad input.</summary>
    public static AnalyticsRequest? Parse(IQueryCollection query, out string? error)
    {
        error = null;
        var range = AnalyticsRange.FromQuery(Single(query, "range"), out error);
        if (range is null)
        {
            return null;
        }
        var status = (Single(query, "status") ?? "all").ToLowerInvariant() switch
        {
            "all" => RequestStatusFilter.All,
            "success" => RequestStatusFilter.Success,
            "error" => RequestStatusFilter.Error,
            _ => (RequestStatusFilter?)null,
        };
        if (status is null)
        {
            error = $"status must be all, success or error (was '{Single(query, "status")}').";
            return null;
        }
        var mode = (Single(query, "mode") ?? "normal").ToLowerInvariant();
        if (mode is not ("normal" or "cumulative"))
        {
            error = $"mode must be normal or cumulative (was '{Single(query, "mode")}').";
            return null;
        }
        var breakdownRaw = Single(query, "modelBreakdown");
        var breakdown = false;
        if (breakdownRaw is not null && !bool.TryParse(breakdownRaw, out breakdown))
        {
            error = $"modelBreakdown must be true or false (was '{breakdownRaw}').";
            return null;
        }
        return new AnalyticsRequest
        {
            Range = range,
            Accounts = List(query, "accounts"),
            Models = List(query, "models"),
            Providers = List(query, "providers"),
            Users = List(query, "users"),
            Status = status.Value,
            Cumulative = mode == "cumulative",
            ModelBreakdown = breakdown,
        };
    }

    internal static string? Single(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && values.Count > 0 && !string.IsNullOrWhiteSpace(values[^1]) ? values[^1]!.Trim() : null;

    /// <summary>Comma-separated, repeatable: <c>models=a,b&amp;models=c</c>.</summary>
    private static List<string> List(IQueryCollection query, string name)
    {
        var result = new List<string>();
        if (!query.TryGetValue(name, out var values))
        {
            return result;
        }
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }
            foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!result.Contains(part, StringComparer.Ordinal))
                {
                    result.Add(part);
                }
            }
        }
        return result;
    }
}
