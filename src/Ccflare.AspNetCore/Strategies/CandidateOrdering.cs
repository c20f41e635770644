using Microsoft.Extensions.Options;

namespace Ccflare.Strategies;

/// <summary>
/// What every strategy shares, applied around it. Usable accounts are ranked: accounts with
/// headroom before accounts near their usage limit (<see cref="NearLimitPolicy"/>), then by priority
/// level (lower is preferred). The strategy orders only the best rank present; the other ranks follow
/// (each in registration order) for failover to walk down. A near-limit account is thereby a last
/// resort, taken only when no account at any level has headroom.
/// </summary>
/// <remarks>
/// The strategy sees one rank only, so what it keeps between requests (a round-robin turn) and the
/// session the proxy starts on its first account concern accounts it can actually pick. When every account has headroom and one priority, the common
/// case, the strategy orders the list as it is and nothing is allocated. Ordering is pure: it changes no
/// account and counts nothing; the caller records what it chose.
/// </remarks>
internal sealed class CandidateOrdering(IOptions<CcflareOptions> options, NearLimitPolicy nearLimit)
{
    private const int StackRanks = 32;
    private const long NearLimitRank = 1L << 40;

    private readonly bool _returnToPreferred = options.Value.Usage.ReturnToPreferred;

    /// <summary>
    /// Orders <paramref name="candidates"/> in place. Returns true when an account at the chosen level or a
    /// more preferred one was passed over for being near its usage limit (a pre-emptive switch).
    /// </summary>
    public bool Order(ILoadBalancingStrategy strategy, in LoadBalancingContext context, List<AccountState> candidates, ref RequestModel model)
    {
        if (candidates.Count == 0)
        {
            strategy.Order(context, candidates);
            return false;
        }
        var count = candidates.Count;
        Span<long> ranks = count <= StackRanks ? stackalloc long[count] : new long[count];
        var uniform = true;
        var anyNear = false;
        for (var i = 0; i < count; i++)
        {
            var near = nearLimit.IsNearLimit(candidates[i], context.Now, ref model);
            anyNear |= near;
            ranks[i] = (near ? NearLimitRank : 0) + candidates[i].Priority;
            uniform &= ranks[i] == ranks[0];
        }
        if (uniform)
        {
            strategy.Order(context, candidates);
            return false;
        }

        SortByRank(candidates, ranks);
        var chosenRank = ranks[0];
        if (!_returnToPreferred && strategy is (SessionStrategy or ResetAwareStrategy) && ActiveSessionRank(candidates, ranks, context) is { } activeRank)
        {
            // The session keeps its account, whatever its level, while that account stays usable with headroom.
            chosenRank = activeRank;
        }

        var preferred = new List<AccountState>(count);
        var rest = new List<AccountState>(count);
        for (var i = 0; i < count; i++)
        {
            (ranks[i] == chosenRank ? preferred : rest).Add(candidates[i]);
        }
        strategy.Order(context, preferred);
        candidates.Clear();
        candidates.AddRange(preferred);
        candidates.AddRange(rest);

        return anyNear && chosenRank < NearLimitRank && preferred.Count > 0 && PassedNearLimitAccount(ranks, chosenRank);
    }

    /// <summary>Whether an account at the chosen level or a more preferred one was passed over for being near its limit.</summary>
    private static bool PassedNearLimitAccount(ReadOnlySpan<long> ranks, long chosenRank)
    {
        foreach (var rank in ranks)
        {
            if (rank >= NearLimitRank && rank - NearLimitRank <= chosenRank)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Stable insertion sort of both lists by rank: lists are short and keep registration order within a rank.</summary>
    private static void SortByRank(List<AccountState> items, Span<long> ranks)
    {
        for (var i = 1; i < ranks.Length; i++)
        {
            var item = items[i];
            var rank = ranks[i];
            var j = i - 1;
            while (j >= 0 && ranks[j] > rank)
            {
                items[j + 1] = items[j];
                ranks[j + 1] = ranks[j];
                j--;
            }
            items[j + 1] = item;
            ranks[j + 1] = rank;
        }
    }

    /// <summary>The rank of the account with the newest live session, when it has headroom.</summary>
    private static long? ActiveSessionRank(List<AccountState> candidates, ReadOnlySpan<long> ranks, in LoadBalancingContext context)
    {
        var active = SessionStrategy.ActiveSession(candidates, context);
        return active >= 0 && ranks[active] < NearLimitRank ? ranks[active] : null;
    }
}
