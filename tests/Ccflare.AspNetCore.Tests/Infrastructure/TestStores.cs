using Ccflare.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ccflare.Tests.Infrastructure;

/// <summary>Stores wired like the host wires them, for tests that build core pieces by hand.</summary>
public static class TestStores
{
    internal static SecretProtectingStore Protected(ICcflareStore inner)
    {
        var services = new ServiceCollection();
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        return new SecretProtectingStore(inner, new SecretProtector(services.BuildServiceProvider()), NullLogger<SecretProtectingStore>.Instance);
    }
}
