using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace Ccflare.Strategies;

/// <summary>
/// What every strategy shares, applied around it: accounts are grouped into priority levels (lower
/// is preferred), the strategy orders only the most preferred level that has a usable account, and
/// the other levels follow in priority order (then registration order) for failover to walk down.
/// </summary>
/// <remarks>
/// The strategy sees one level only, so its side effects (a new session, a round-robin turn) happen
/// for the accounts it can actually pick. With one level, the common case, this adds nothing.
/// </remarks>
internal sealed class CandidateOrdering(IOptions<CcflareOptions> options)
{
    private readonly bool _returnToPreferred = options.Value.Usage.ReturnToPreferred;

    public void Order(ILoadBalancingStrategy strategy, in LoadBalancingContext context, List<AccountState> candidates)
    {
        if (candidates.Count < 2 || SingleLevel(candidates))
        {
            strategy.Order(context, candidates);
            return;
        }
        SortByLevel(CollectionsMarshal.AsSpan(candidates));
        var level = candidates[0].Priority;
        if (!_returnToPreferred && strategy is SessionStrategy && ActiveSession(candidates, context) is { } active)
        {
            // The session keeps its account, whatever its level, while that account stays usable.
            level = active.Priority;
        }

        var preferred = new List<AccountState>(candidates.Count);
        var rest = new List<AccountState>(candidates.Count);
        foreach (var candidate in candidates)
        {
            (candidate.Priority == level ? preferred : rest).Add(candidate);
        }
        strategy.Order(context, preferred);
        candidates.Clear();
        candidates.AddRange(preferred);
        candidates.AddRange(rest);
    }

    private static bool SingleLevel(List<AccountState> candidates)
    {
        var first = candidates[0].Priority;
        for (var i = 1; i < candidates.Count; i++)
        {
            if (candidates[i].Priority != first)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Stable insertion sort by priority: lists are short and keep their registration order within a level.</summary>
    private static void SortByLevel(Span<AccountState> items)
    {
        for (var i = 1; i < items.Length; i++)
        {
            var item = items[i];
            var j = i - 1;
            while (j >= 0 && items[j].Priority > item.Priority)
            {
                items[j + 1] = items[j];
                j--;
            }
            items[j + 1] = item;
        }
    }

    private static AccountState? ActiveSession(List<AccountState> candidates, in LoadBalancingContext context)
    {
        AccountState? active = null;
        foreach (var candidate in candidates)
        {
            if (candidate.SessionStart is { } start && context.Now - start < context.SessionDuration && (active is null || start > active.SessionStart))
            {
                active = candidate;
            }
        }
        return active;
    }
}
