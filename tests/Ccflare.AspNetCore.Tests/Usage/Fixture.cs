using System.Runtime.CompilerServices;

namespace Ccflare.Tests.Usage;

/// <summary>Reads the checked-in wire-format fixtures next to this file.</summary>
internal static class Fixture
{
    public static byte[] Bytes(string name, [CallerFilePath] string here = "") =>
        File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(here)!, "Fixtures", name));
}
