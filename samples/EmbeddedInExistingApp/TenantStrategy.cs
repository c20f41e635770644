using Ccflare;

namespace EmbeddedInExistingApp;

/// <summary>
/// Routes each tenant to its own account: the account whose name equals the <c>x-tenant</c>
/// header goes first, the others stay as fallbacks in their usual order.
/// </summary>
public sealed class TenantStrategy : ILoadBalancingStrategy
{
    /// <inheritdoc />
    public string Name => "tenant";

    /// <inheritdoc />
    public void Order(in LoadBalancingContext context, List<AccountState> candidates)
    {
        var tenant = context.HttpContext.Request.Headers["x-tenant"].ToString();
        if (tenant.Length == 0)
        {
            return;
        }
        for (var i = 1; i < candidates.Count; i++)
        {
            if (string.Equals(candidates[i].Name, tenant, StringComparison.Ordinal))
            {
                var chosen = candidates[i];
                candidates.RemoveAt(i);
                candidates.Insert(0, chosen);
                return;
            }
        }
    }
}
