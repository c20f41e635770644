using System.Collections.Concurrent;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Providers;
using Ccflare.Recording;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Proxy;

/// <summary>
/// Turns upstream responses into account state, as a passive health policy does: the provider
/// reads the status and headers (rate limit, cool-down), this writes what it read into the
/// account and decides whether the attempt gives way to the next account.
/// </summary>
internal sealed class AccountFeedbackPolicy(AccountRegistry registry, IOptions<CcflareOptions> options, TimeProvider time, CcflareMetrics metrics, ILogger<ProxyHandler> logger)
{
    /// <summary>First cool-down after a rate limit that names no reset; it doubles with each one in a row.</summary>
    internal static readonly TimeSpan FirstUnknownResetCooldown = TimeSpan.FromSeconds(2);

    private readonly TimeSpan _maxUnknownResetCooldown = TimeSpan.FromMilliseconds(options.Value.DefaultRateLimitCooldownMs);
    private readonly ConcurrentDictionary<string, int> _limitsWithoutReset = new(StringComparer.Ordinal);

    /// <summary>Applies the response to the account; true when the next account should be tried instead.</summary>
    public bool ShouldFailOver(UpstreamProvider provider, AccountState? account, ProxyExchange exchange, HttpResponseMessage response, bool isLast)
    {
        var status = (int)response.StatusCode;
        var hardLimited = false;
        if (account is not null)
        {
            var now = time.GetUtcNow();
            var feedback = provider.ReadAccountFeedback(status, response.Headers, now);
            hardLimited = feedback.RateLimit.IsHardLimited;
            if (status < 400)
            {
                _limitsWithoutReset.TryRemove(account.Id, out _);
            }
            Apply(account, exchange, feedback.RateLimit, feedback.Usage, now);
        }

        var failover = status == 429 || status >= 500 || (status >= 400 && hardLimited);
        if (failover && !isLast && account is not null)
        {
            exchange.ErrorMessage = $"Upstream answered {status}";
            Log.FailingOver(logger, provider.Name, account.Name, status);
            return true;
        }
        return false;
    }

    /// <summary>Writes the rate limit and usage windows the provider read into the account, as one change.</summary>
    private void Apply(AccountState account, ProxyExchange exchange, RateLimitInfo info, AccountUsage? usage, DateTimeOffset now)
    {
        if (!info.HasData && usage is null)
        {
            return;
        }
        DateTimeOffset? until = null;
        if (info.IsHardLimited)
        {
            until = info.Reset > now ? info.Reset : now + UnknownResetCooldown(account);
            exchange.RateLimited = true;
            metrics.RateLimitEvents.Add(1, new KeyValuePair<string, object?>("provider", account.Provider));
            Log.AccountRateLimited(logger, account.Name, until.Value);
        }
        registry.Change(account, (info, until, usage), static (a, s) => a with
        {
            RateLimitStatus = s.info.Status ?? a.RateLimitStatus,
            RateLimitReset = s.info.Reset ?? a.RateLimitReset,
            RateLimitRemaining = s.info.Remaining ?? a.RateLimitRemaining,
            RateLimitedUntil = s.until ?? a.RateLimitedUntil,
            Usage = s.usage is null ? a.Usage : a.Usage is { } known ? known.MergeWith(s.usage) : s.usage,
        }, urgent: until is not null);
    }

    /// <summary>Seconds, doubling with each rate limit in a row that names no reset, capped by <c>DefaultRateLimitCooldownMs</c>; a success starts over.</summary>
    private TimeSpan UnknownResetCooldown(AccountState account)
    {
        var strikes = _limitsWithoutReset.AddOrUpdate(account.Id, 1, static (_, n) => Math.Min(n + 1, 30));
        var cooldown = FirstUnknownResetCooldown * Math.Pow(2, strikes - 1);
        return cooldown < _maxUnknownResetCooldown ? cooldown : _maxUnknownResetCooldown;
    }
}
