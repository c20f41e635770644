using Microsoft.AspNetCore.Http;

namespace Ccflare;

/// <summary>
/// Orders the usable accounts of a provider for one request. The proxy tries them in the
/// resulting order and fails over along it. Register with
/// <c>builder.AddStrategy&lt;T&gt;()</c>; select by <see cref="Name"/>.
/// </summary>
/// <remarks>
/// Called on the hot path: avoid allocations and blocking calls. A strategy only orders: it sees each
/// account through <see cref="AccountState"/>, which holds no credential, and changes nothing; the proxy
/// counts requests and keeps sessions for the account that actually served.
/// </remarks>
public interface ILoadBalancingStrategy
{
    /// <summary>Unique name, as used by <c>lb_strategy</c> and <c>POST /api/config/strategy</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Reorders <paramref name="candidates"/> in place (the first is tried first). May also
    /// remove candidates that must not serve this request. Every candidate is available now.
    /// </summary>
    void Order(in LoadBalancingContext context, List<AccountState> candidates);
}

/// <summary>What a strategy knows about the request it orders accounts for.</summary>
/// <param name="HttpContext">The client's request.</param>
/// <param name="Provider">The provider whose accounts are ordered.</param>
/// <param name="Now">The current time, from the configured <see cref="TimeProvider"/>.</param>
/// <param name="SessionDuration">The configured session duration.</param>
public readonly record struct LoadBalancingContext(
    HttpContext HttpContext,
    string Provider,
    DateTimeOffset Now,
    TimeSpan SessionDuration);
