using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ccflare;

/// <summary>
/// What the provider last said about an account's usage windows (for example the five-hour and
/// seven-day windows of a subscription). Read from response headers by the account's provider.
/// </summary>
public sealed record AccountUsage
{
    /// <summary>When this was read.</summary>
    [JsonPropertyName("updatedAt")]
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Overall status as reported, for example <c>allowed</c>, <c>allowed_warning</c> or <c>rejected</c>.</summary>
    [JsonPropertyName("status")]
    public string? Status { get; init; }

    /// <summary>When the overall status ends (the binding window's reset).</summary>
    [JsonPropertyName("resetsAt")]
    public DateTimeOffset? ResetsAt { get; init; }

    /// <summary>The window that currently binds, for example <c>five_hour</c>.</summary>
    [JsonPropertyName("representativeClaim")]
    public string? RepresentativeClaim { get; init; }

    /// <summary>The windows, by name.</summary>
    [JsonPropertyName("windows")]
    public IReadOnlyList<UsageWindow> Windows { get; init; } = [];

    /// <summary>The pay-as-you-go pool beyond the plan, when reported.</summary>
    [JsonPropertyName("overage")]
    public UsageOverage? Overage { get; init; }

    /// <summary>Anthropic's fallback percentage, when reported.</summary>
    [JsonPropertyName("fallbackPercentage")]
    public double? FallbackPercentage { get; init; }

    /// <summary>The window named <paramref name="name"/>, or null.</summary>
    public UsageWindow? Window(string name)
    {
        foreach (var window in Windows)
        {
            if (window.Name == name)
            {
                return window;
            }
        }
        return null;
    }

    /// <summary>
    /// This usage as it stands at <paramref name="now"/>: a window whose reset has passed is fresh
    /// (utilization 0, no reset known yet), and so is an overall status whose reset has passed.
    /// </summary>
    public AccountUsage AsOf(DateTimeOffset now)
    {
        var statusExpired = ResetsAt is { } reset && reset <= now && Status is not null && Status != UsageStatuses.Allowed;
        UsageWindow[]? windows = null;
        for (var i = 0; i < Windows.Count; i++)
        {
            var window = Windows[i];
            if (window.ResetsAt is { } windowReset && windowReset <= now)
            {
                windows ??= [.. Windows];
                windows[i] = window with { Utilization = 0, ResetsAt = null, Status = window.Status is null ? null : UsageStatuses.Allowed };
            }
        }
        var overageExpired = Overage is { ResetsAt: { } overageReset } && overageReset <= now;
        if (!statusExpired && windows is null && !overageExpired)
        {
            return this;
        }
        return this with
        {
            Status = statusExpired ? UsageStatuses.Allowed : Status,
            ResetsAt = statusExpired ? null : ResetsAt,
            Windows = windows ?? Windows,
            Overage = overageExpired ? Overage! with { Status = UsageStatuses.Allowed, ResetsAt = null } : Overage,
        };
    }

    /// <summary>
    /// The free share (0..1) of the fullest window that limits every model: 1 minus its utilization, 0 when
    /// it or the overall status is <c>rejected</c>. Windows scoped to a model family are left out (they
    /// limit only that family). Null when no such window reports a utilization. Call it on
    /// <see cref="AsOf"/>'s result so a window whose reset has passed counts as free.
    /// </summary>
    internal double? Headroom()
    {
        double? headroom = Status == UsageStatuses.Rejected && (RepresentativeClaim is null || WindowFamily(RepresentativeClaim) is null) ? 0 : null;
        foreach (var window in Windows)
        {
            if (WindowFamily(window.Name) is not null)
            {
                continue;
            }
            double? free = window.Status == UsageStatuses.Rejected ? 0 : window.Utilization is { } utilization ? Math.Clamp(1 - utilization, 0, 1) : null;
            if (free < headroom || (headroom is null && free is not null))
            {
                headroom = free;
            }
        }
        return headroom is { } value ? Math.Round(value, 4) : null;
    }

    /// <summary>
    /// <paramref name="newer"/> read on top of this: its windows replace the ones of the same name,
    /// windows it does not mention stay, and fields it does not report keep their value.
    /// </summary>
    internal AccountUsage MergeWith(AccountUsage newer)
    {
        ArgumentNullException.ThrowIfNull(newer);
        var windows = new List<UsageWindow>(Math.Max(Windows.Count, newer.Windows.Count));
        windows.AddRange(newer.Windows);
        foreach (var window in Windows)
        {
            if (newer.Window(window.Name) is null)
            {
                windows.Add(window);
            }
        }
        windows.Sort(static (a, b) => (a.WindowMinutes ?? int.MaxValue).CompareTo(b.WindowMinutes ?? int.MaxValue) is var byLength and not 0
            ? byLength
            : string.CompareOrdinal(a.Name, b.Name));
        return newer with
        {
            Status = newer.Status ?? Status,
            ResetsAt = newer.Status is null ? ResetsAt : newer.ResetsAt,
            RepresentativeClaim = newer.RepresentativeClaim ?? RepresentativeClaim,
            Windows = windows,
            Overage = newer.Overage ?? Overage,
            FallbackPercentage = newer.FallbackPercentage ?? FallbackPercentage,
        };
    }

    /// <summary>
    /// The model family a window is scoped to (<c>opus</c> for <c>seven_day_opus</c>), or null for a
    /// window that counts for every model (<c>five_hour</c>, <c>seven_day</c>, <c>primary</c>).
    /// </summary>
    internal static string? WindowFamily(string windowName)
    {
        var first = windowName.IndexOf('_');
        var second = first < 0 ? -1 : windowName.IndexOf('_', first + 1);
        if (second < 0 || second == windowName.Length - 1)
        {
            return null;
        }
        var unit = windowName.AsSpan(first + 1, second - first - 1);
        return unit is "minute" or "hour" or "day" or "week" ? windowName[(second + 1)..] : null;
    }

    /// <inheritdoc />
    public bool Equals(AccountUsage? other) =>
        other is not null
        && UpdatedAt == other.UpdatedAt
        && Status == other.Status
        && ResetsAt == other.ResetsAt
        && RepresentativeClaim == other.RepresentativeClaim
        && Windows.SequenceEqual(other.Windows)
        && Overage == other.Overage
        && FallbackPercentage == other.FallbackPercentage;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(UpdatedAt, Status, RepresentativeClaim, Windows.Count);

    /// <summary>The stored form (JSON) that every store keeps in one column or field.</summary>
    public static string Serialize(AccountUsage usage) => JsonSerializer.Serialize(usage, AccountUsageJsonContext.Default.AccountUsage);

    /// <summary>Reads the stored form; null for null, empty or unreadable text (a damaged value never stops accounts from loading).</summary>
    public static AccountUsage? Deserialize(string? stored)
    {
        if (string.IsNullOrEmpty(stored))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize(stored, AccountUsageJsonContext.Default.AccountUsage);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>One usage window of an account.</summary>
/// <param name="Name">For example <c>five_hour</c>, <c>seven_day</c>, <c>seven_day_opus</c>, or <c>primary</c>/<c>secondary</c> (Codex).</param>
/// <param name="WindowMinutes">Length of the window in minutes, when known.</param>
/// <param name="Utilization">How full the window is, a fraction from 0 to 1.</param>
/// <param name="ResetsAt">When the window resets.</param>
/// <param name="Status">The window's status as reported, for example <c>allowed</c> or <c>rejected</c>.</param>
public sealed record UsageWindow(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("windowMinutes")] int? WindowMinutes,
    [property: JsonPropertyName("utilization")] double? Utilization,
    [property: JsonPropertyName("resetsAt")] DateTimeOffset? ResetsAt,
    [property: JsonPropertyName("status")] string? Status);

/// <summary>The overage (extra usage) pool of an account.</summary>
/// <param name="Status">For example <c>allowed</c> or <c>rejected</c>.</param>
/// <param name="ResetsAt">When the pool resets.</param>
public sealed record UsageOverage(
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("resetsAt")] DateTimeOffset? ResetsAt);

/// <summary>Status values of <see cref="AccountUsage"/> and <see cref="UsageWindow"/>.</summary>
public static class UsageStatuses
{
    /// <summary>Requests are allowed.</summary>
    public const string Allowed = "allowed";

    /// <summary>Requests are allowed but the window is nearly full.</summary>
    public const string AllowedWarning = "allowed_warning";

    /// <summary>Requests are refused until the reset.</summary>
    public const string Rejected = "rejected";
}

[JsonSerializable(typeof(AccountUsage))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
internal sealed partial class AccountUsageJsonContext : JsonSerializerContext;
