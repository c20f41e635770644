using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Usage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Strategies;

/// <summary>
/// Decides from its usage windows whether an account is near its limit: any window at or above
/// <see cref="UsageOptions.SwitchAtUtilization"/>, or reported <c>rejected</c>, until that window
/// resets. A window scoped to a model family (<c>seven_day_opus</c>) counts only for requests for
/// that family's models. Logs when an account becomes near its limit and when it has headroom again,
/// and publishes every window's utilization as a gauge.
/// </summary>
internal sealed class NearLimitPolicy
{
    /// <summary>How long a full window with no reported reset keeps an account near its limit, when its length is unknown too.</summary>
    private static readonly TimeSpan UnknownWindowLength = TimeSpan.FromHours(5);

    private readonly double _threshold;
    private readonly ILogger<NearLimitPolicy> _logger;
    private readonly ConcurrentDictionary<string, byte> _nearLimit = new(StringComparer.Ordinal);

    public NearLimitPolicy(IOptions<CcflareOptions> options, AccountRegistry registry, TimeProvider time, CcflareMetrics metrics, ILogger<NearLimitPolicy> logger)
    {
        _threshold = options.Value.Usage.SwitchAtUtilization;
        _logger = logger;
        PreemptiveSwitches = metrics.CreateCounter("ccflare.usage.preemptive_switches", "{request}",
            "Requests sent to another account because an account at the same or a more preferred level was near its usage limit.");
        metrics.ObserveWindowUtilization(() => Measure(registry, time.GetUtcNow()));
    }

    public Counter<long> PreemptiveSwitches { get; }

    /// <summary>Whether <paramref name="account"/> is near its limit for a request for <paramref name="model"/>.</summary>
    public bool IsNearLimit(AccountState account, DateTimeOffset now, ref RequestModel model)
    {
        var usage = account.Usage;
        if (usage is null)
        {
            Observe(account, null);
            return false;
        }
        var anyFamily = BindingWindow(usage, now, familyModel: null, anyFamily: true);
        Observe(account, anyFamily);
        if (anyFamily is null)
        {
            return false;
        }
        if (AccountUsage.WindowFamily(anyFamily.Name) is null)
        {
            return true;
        }
        // Only a family-scoped window is full: it binds only requests for that family's models.
        return BindingWindow(usage, now, model.Value, anyFamily: false) is not null;
    }

    /// <summary>
    /// The window that puts the account near its limit, as the management API reports it: a window that
    /// limits every model before one scoped to a model family; null while the account has headroom.
    /// </summary>
    internal UsageWindow? NearLimitWindow(AccountUsage? usage, DateTimeOffset now) =>
        usage is null
            ? null
            : BindingWindow(usage, now, familyModel: null, anyFamily: false) ?? BindingWindow(usage, now, familyModel: null, anyFamily: true);

    /// <summary>The first window that puts the account near its limit, or null when it has headroom.</summary>
    internal UsageWindow? BindingWindow(AccountUsage usage, DateTimeOffset now, string? familyModel, bool anyFamily)
    {
        foreach (var window in usage.Windows)
        {
            if (IsFull(window, usage.UpdatedAt, now) && (anyFamily || Applies(window.Name, familyModel)))
            {
                return window;
            }
        }
        if (usage.Status == UsageStatuses.Rejected && !(usage.ResetsAt <= now))
        {
            var claim = usage.RepresentativeClaim ?? "unified";
            if (anyFamily || Applies(claim, familyModel))
            {
                return usage.Window(claim) ?? new UsageWindow(claim, null, null, usage.ResetsAt, UsageStatuses.Rejected);
            }
        }
        return null;
    }

    private bool IsFull(UsageWindow window, DateTimeOffset readAt, DateTimeOffset now)
    {
        if (!(window.Utilization >= _threshold) && window.Status != UsageStatuses.Rejected)
        {
            return false;
        }
        // Without a reported reset a full window is trusted for its own length from the reading, so an account
        // that is never picked (and so never re-read) is not parked forever.
        var resetsAt = window.ResetsAt ?? readAt + (window.WindowMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : UnknownWindowLength);
        return resetsAt > now;
    }

    private static bool Applies(string windowName, string? model) =>
        AccountUsage.WindowFamily(windowName) is not { } family
        || (model is not null && model.Contains(family, StringComparison.OrdinalIgnoreCase));

    private void Observe(AccountState account, UsageWindow? binding)
    {
        if (binding is not null)
        {
            if (_nearLimit.TryAdd(account.Id, 0))
            {
                Log.AccountNearLimit(_logger, account.Name, binding.Name, binding.ResetsAt);
            }
        }
        else if (_nearLimit.TryRemove(account.Id, out _))
        {
            Log.AccountHeadroomRegained(_logger, account.Name);
        }
    }

    private static IEnumerable<Measurement<double>> Measure(AccountRegistry registry, DateTimeOffset now)
    {
        foreach (var account in registry.All)
        {
            if (account.Usage is not { } usage)
            {
                continue;
            }
            foreach (var window in usage.AsOf(now).Windows)
            {
                if (window.Utilization is { } utilization)
                {
                    yield return new Measurement<double>(utilization,
                        new KeyValuePair<string, object?>("ccflare.account", account.Name),
                        new KeyValuePair<string, object?>("ccflare.window", window.Name));
                }
            }
        }
    }
}

/// <summary>The model a request asks for, read from the body only when a family-scoped window needs it.</summary>
internal ref struct RequestModel(string? known, ReadOnlySpan<byte> body)
{
    private readonly ReadOnlySpan<byte> _body = body;
    private string? _model = known;
    private bool _read = known is not null;

    public string? Value
    {
        get
        {
            if (!_read)
            {
                _model = RequestFields.Read(_body).Model;
                _read = true;
            }
            return _model;
        }
    }
}
