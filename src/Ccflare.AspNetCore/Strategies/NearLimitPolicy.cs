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
/// that family's models. The decision is pure; transitions are tracked apart from it: <see cref="Observe"/>
/// runs when an account's usage is written, logs when the account becomes near its limit, and a timer on
/// the injected clock logs when the window resets and the account has headroom again. Every window's
/// utilization is published as a gauge.
/// </summary>
internal sealed class NearLimitPolicy : IDisposable
{
    /// <summary>How long a full window with no reported reset keeps an account near its limit, when its length is unknown too.</summary>
    private static readonly TimeSpan UnknownWindowLength = TimeSpan.FromHours(5);

    /// <summary>Longest single wait of the reset timer (timers take at most about 49 days); a longer wait re-arms on waking.</summary>
    private static readonly TimeSpan LongestTimerWait = TimeSpan.FromDays(7);

    private readonly double _threshold;
    private readonly TimeProvider _time;
    private readonly ILogger<NearLimitPolicy> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Tracked> _nearLimit = new(StringComparer.Ordinal);
    private int _trackedCount;
    private bool _disposed;

    public NearLimitPolicy(IOptions<CcflareOptions> options, AccountRegistry registry, TimeProvider time, CcflareMetrics metrics, ILogger<NearLimitPolicy> logger)
    {
        _threshold = options.Value.Usage.SwitchAtUtilization;
        _time = time;
        _logger = logger;
        metrics.ObserveWindowUtilization(() => Measure(registry, time.GetUtcNow()));
    }

    /// <summary>Whether <paramref name="account"/> is near its limit for a request for <paramref name="model"/>. Pure.</summary>
    public bool IsNearLimit(AccountState account, DateTimeOffset now, ref RequestModel model) =>
        account.Usage is { } usage && FullWindow(usage, now, ref model, everyModel: false) is not null;

    /// <summary>
    /// The window that puts the account near its limit, as the management API reports it: a window that
    /// limits every model before one scoped to a model family; null while the account has headroom.
    /// </summary>
    internal UsageWindow? NearLimitWindow(AccountUsage? usage, DateTimeOffset now)
    {
        if (usage is null)
        {
            return null;
        }
        var noModel = new RequestModel(null, default);
        return FullWindow(usage, now, ref noModel, everyModel: false) ?? FullWindow(usage, now, ref noModel, everyModel: true);
    }

    /// <summary>
    /// The first window that puts the account near its limit, or null when it has headroom. With
    /// <paramref name="everyModel"/> a family-scoped window counts whatever the request's model;
    /// otherwise the model is read (once, lazily) only when such a window is full.
    /// </summary>
    internal UsageWindow? FullWindow(AccountUsage usage, DateTimeOffset now, ref RequestModel model, bool everyModel)
    {
        foreach (var window in usage.Windows)
        {
            if (IsFull(window, usage.UpdatedAt, now) && (everyModel || Binds(window.Name, ref model)))
            {
                return window;
            }
        }
        if (usage.Status == UsageStatuses.Rejected && !(usage.ResetsAt <= now))
        {
            var claim = usage.RepresentativeClaim ?? "unified";
            if (everyModel || Binds(claim, ref model))
            {
                return usage.Window(claim) ?? new UsageWindow(claim, null, null, usage.ResetsAt, UsageStatuses.Rejected);
            }
        }
        return null;
    }

    /// <summary>
    /// Tracks a near-limit transition after <paramref name="account"/>'s usage was written: logs when it
    /// becomes near its limit (for any model) and arms a timer for the moment its full window resets, when
    /// the return to headroom is logged; logs that return at once when new usage shows headroom.
    /// </summary>
    public void Observe(AccountState account)
    {
        var now = _time.GetUtcNow();
        var noModel = new RequestModel(null, default);
        var usage = account.Usage;
        var full = usage is null ? null : FullWindow(usage, now, ref noModel, everyModel: true);
        if (full is null && Volatile.Read(ref _trackedCount) == 0)
        {
            return;
        }
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _nearLimit.TryGetValue(account.Id, out var tracked);
            if (full is null)
            {
                if (tracked is not null)
                {
                    tracked.Timer.Dispose();
                    _nearLimit.Remove(account.Id);
                    _trackedCount = _nearLimit.Count;
                    Log.AccountHeadroomRegained(_logger, account.Name);
                }
                return;
            }
            var recheckAt = EffectiveReset(full, usage!.UpdatedAt);
            if (tracked is null)
            {
                tracked = new Tracked(_time.CreateTimer(static state => ((Recheck)state!).Run(), new Recheck(this, account), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
                _nearLimit.Add(account.Id, tracked);
                _trackedCount = _nearLimit.Count;
                Log.AccountNearLimit(_logger, account.Name, full.Name, full.ResetsAt);
            }
            if (recheckAt <= now)
            {
                // Full with nothing the clock can end (a rejected status with no reset): only a new reading can.
                tracked.RecheckAt = recheckAt;
                tracked.WakesAt = DateTimeOffset.MaxValue;
                tracked.Timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            else if (tracked.RecheckAt != recheckAt || tracked.WakesAt <= now)
            {
                var wait = recheckAt - now;
                wait = wait < LongestTimerWait ? wait : LongestTimerWait;
                tracked.RecheckAt = recheckAt;
                tracked.WakesAt = now + wait;
                tracked.Timer.Change(wait, Timeout.InfiniteTimeSpan);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var tracked in _nearLimit.Values)
            {
                tracked.Timer.Dispose();
            }
            _nearLimit.Clear();
            _trackedCount = 0;
        }
    }

    private bool IsFull(UsageWindow window, DateTimeOffset readAt, DateTimeOffset now) =>
        (window.Utilization >= _threshold || window.Status == UsageStatuses.Rejected) && EffectiveReset(window, readAt) > now;

    /// <summary>
    /// When a full window stops counting. Without a reported reset it is trusted for its own length from the
    /// reading, so an account that is never picked (and so never re-read) is not parked for ever.
    /// </summary>
    private static DateTimeOffset EffectiveReset(UsageWindow window, DateTimeOffset readAt) =>
        window.ResetsAt ?? readAt + (window.WindowMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : UnknownWindowLength);

    private static bool Binds(string windowName, ref RequestModel model) =>
        AccountUsage.WindowFamily(windowName) is not { } family
        || (model.Value is { } name && name.Contains(family, StringComparison.OrdinalIgnoreCase));

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

    private sealed class Tracked(ITimer timer)
    {
        public ITimer Timer { get; } = timer;

        public DateTimeOffset RecheckAt { get; set; }

        public DateTimeOffset WakesAt { get; set; }
    }

    private sealed record Recheck(NearLimitPolicy Policy, AccountState Account)
    {
        public void Run() => Policy.Observe(Account);
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
