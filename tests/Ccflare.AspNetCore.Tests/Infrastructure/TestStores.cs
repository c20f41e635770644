using Ccflare.Accounts;
using Ccflare.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ccflare.Tests.Infrastructure;

/// <summary>Stores wired like the host wires them, for tests that build core pieces by hand.</summary>
public static class TestStores
{
    /// <summary>Account persistence over <paramref name="inner"/>, encrypting with a throw-away key ring.</summary>
    internal static AccountStore Accounts(ICcflareStore inner)
    {
        var services = new ServiceCollection();
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        var provider = services.BuildServiceProvider().GetRequiredService<IDataProtectionProvider>();
        return new AccountStore(inner, new SecretProtector(provider), NullLogger<AccountStore>.Instance);
    }
}
