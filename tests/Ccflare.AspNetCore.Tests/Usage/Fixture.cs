using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Usage;

/// <summary>Reads the checked-in wire-format fixtures of the usage tests.</summary>
internal static class Fixture
{
    public static byte[] Bytes(string name) =>
        File.ReadAllBytes(RepositoryPaths.Combine("tests", "Ccflare.AspNetCore.Tests", "Usage", "Fixtures", name));
}
