namespace Ccflare.Strategies;

/// <summary>
/// ccflare's default: stay on the account whose session started most recently while the
/// session is younger than the session duration; otherwise keep the order (the proxy starts a
/// session on whichever account a strategy puts first). Subscription accounts dislike rapid switching.
/// </summary>
internal sealed class SessionStrategy : ILoadBalancingStrategy
{
    public const string StrategyName = "session";

    public string Name => StrategyName;

    public void Order(in LoadBalancingContext context, List<AccountState> candidates)
    {
        var activeIndex = ActiveSession(candidates, context);
        if (activeIndex > 0)
        {
            var active = candidates[activeIndex];
            candidates.RemoveAt(activeIndex);
            candidates.Insert(0, active);
        }
    }

    /// <summary>
    /// The index of the candidate whose session started most recently and is younger than the session
    /// duration: the account the client's session is on. -1 when no candidate has a live session.
    /// </summary>
    internal static int ActiveSession(List<AccountState> candidates, in LoadBalancingContext context)
    {
        var activeIndex = -1;
        DateTimeOffset newest = default;
        for (var i = 0; i < candidates.Count; i++)
        {
            var start = candidates[i].SessionStart;
            if (start is { } s && context.Now - s < context.SessionDuration && (activeIndex < 0 || s > newest))
            {
                activeIndex = i;
                newest = s;
            }
        }
        return activeIndex;
    }
}

/// <summary>Rotates the starting account on every request.</summary>
internal sealed class RoundRobinStrategy : ILoadBalancingStrategy
{
    private long _counter = -1;

    public string Name => "round-robin";

    public void Order(in LoadBalancingContext context, List<AccountState> candidates)
    {
        if (candidates.Count < 2)
        {
            return;
        }
        var start = (int)((ulong)Interlocked.Increment(ref _counter) % (ulong)candidates.Count);
        Rotate(candidates, start);
    }

    private static void Rotate(List<AccountState> items, int start)
    {
        if (start == 0)
        {
            return;
        }
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(items);
        span[..start].Reverse();
        span[start..].Reverse();
        span.Reverse();
    }
}

/// <summary>Prefers the account with the fewest requests since the last reset.</summary>
internal sealed class LeastRequestsStrategy : ILoadBalancingStrategy
{
    public string Name => "least-requests";

    public void Order(in LoadBalancingContext context, List<AccountState> candidates) =>
        candidates.Sort(static (a, b) =>
        {
            var byCount = a.RequestCount.CompareTo(b.RequestCount);
            return byCount != 0 ? byCount : a.CreatedAt.CompareTo(b.CreatedAt);
        });
}

/// <summary>
/// Spreads requests in proportion to <see cref="AccountState.Weight"/>: the account with the
/// lowest requests-per-weight goes first, so a weight-3 account takes three times the traffic.
/// </summary>
internal sealed class WeightedStrategy : ILoadBalancingStrategy
{
    public string Name => "weighted";

    public void Order(in LoadBalancingContext context, List<AccountState> candidates) =>
        candidates.Sort(static (a, b) =>
        {
            // Compare a.count/a.weight with b.count/b.weight without division.
            var left = (a.RequestCount + 1) * (long)b.Weight;
            var right = (b.RequestCount + 1) * (long)a.Weight;
            var byLoad = left.CompareTo(right);
            if (byLoad != 0)
            {
                return byLoad;
            }
            var byWeight = b.Weight.CompareTo(a.Weight);
            return byWeight != 0 ? byWeight : a.CreatedAt.CompareTo(b.CreatedAt);
        });
}
