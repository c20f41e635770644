namespace Ccflare.Strategies;

/// <summary>
/// Drains the usage window that resets soonest: unused capacity in that window expires first. A live
/// session (as the <c>session</c> strategy finds it) keeps its account, since prompt caches are per
/// account; the candidates it sees all have headroom, so the session leaves its account as soon as the
/// account nears its limit. Otherwise the order is:
/// <list type="number">
/// <item>accounts whose binding window has a pending reset, soonest reset first, then lower utilization;</item>
/// <item>accounts that reported usage but have no pending reset (their windows are fresh: using one
/// starts a new window, which resets last);</item>
/// <item>accounts that never reported usage (API-key accounts, or not used yet).</item>
/// </list>
/// Equal keys keep their order (the order the accounts were added).
/// </summary>
/// <remarks>
/// The binding window is the one the provider names as its representative claim; without one, the most
/// utilized window. Windows scoped to a model family (<c>seven_day_opus</c>) are left out: they bind only
/// some requests, and the near-limit ranking applied before any strategy already handles them.
/// </remarks>
internal sealed class ResetAwareStrategy : ILoadBalancingStrategy
{
    public const string StrategyName = "reset-aware";

    private const int StackKeys = 32;

    public string Name => StrategyName;

    public void Order(in LoadBalancingContext context, List<AccountState> candidates)
    {
        var count = candidates.Count;
        if (count == 0)
        {
            return;
        }
        var session = SessionStrategy.ActiveSession(candidates, context);
        if (session > 0)
        {
            var active = candidates[session];
            candidates.RemoveAt(session);
            candidates.Insert(0, active);
        }
        var first = session >= 0 ? 1 : 0;
        if (count - first < 2)
        {
            return;
        }
        Span<DrainKey> keys = count <= StackKeys ? stackalloc DrainKey[count] : new DrainKey[count];
        for (var i = first; i < count; i++)
        {
            keys[i] = DrainKey.Of(candidates[i], context.Now);
        }
        // Stable insertion sort: candidate lists are short and equal keys keep their order.
        for (var i = first + 1; i < count; i++)
        {
            var item = candidates[i];
            var key = keys[i];
            var j = i - 1;
            while (j >= first && DrainKey.Compare(keys[j], key) > 0)
            {
                candidates[j + 1] = candidates[j];
                keys[j + 1] = keys[j];
                j--;
            }
            candidates[j + 1] = item;
            keys[j + 1] = key;
        }
    }

    /// <summary>
    /// The window that limits the account for every model, if it has a pending reset: the representative
    /// claim when it names such a window, else the most utilized one (the sooner reset on a tie).
    /// </summary>
    internal static UsageWindow? BindingWindow(AccountUsage usage, DateTimeOffset now)
    {
        if (usage.RepresentativeClaim is { } claim && AccountUsage.WindowFamily(claim) is null
            && usage.Window(claim) is { } claimed && Pending(claimed, now))
        {
            return claimed;
        }
        UsageWindow? binding = null;
        foreach (var window in usage.Windows)
        {
            if (!Pending(window, now) || AccountUsage.WindowFamily(window.Name) is not null)
            {
                continue;
            }
            if (binding is null
                || (window.Utilization ?? 0) > (binding.Utilization ?? 0)
                || ((window.Utilization ?? 0) == (binding.Utilization ?? 0) && window.ResetsAt < binding.ResetsAt))
            {
                binding = window;
            }
        }
        return binding;
    }

    private static bool Pending(UsageWindow window, DateTimeOffset now) => window.ResetsAt > now;

    private readonly record struct DrainKey(int Tier, DateTimeOffset ResetsAt, double Utilization)
    {
        private const int PendingReset = 0;
        private const int FreshWindows = 1;
        private const int NoUsage = 2;

        public static DrainKey Of(AccountState account, DateTimeOffset now)
        {
            if (account.Usage is not { } usage)
            {
                return new DrainKey(NoUsage, default, 0);
            }
            return BindingWindow(usage, now) is { ResetsAt: { } resetsAt } binding
                ? new DrainKey(PendingReset, resetsAt, binding.Utilization ?? 0)
                : new DrainKey(FreshWindows, default, 0);
        }

        public static int Compare(in DrainKey a, in DrainKey b)
        {
            var byTier = a.Tier.CompareTo(b.Tier);
            if (byTier != 0)
            {
                return byTier;
            }
            var byReset = a.ResetsAt.CompareTo(b.ResetsAt);
            return byReset != 0 ? byReset : a.Utilization.CompareTo(b.Utilization);
        }
    }
}
