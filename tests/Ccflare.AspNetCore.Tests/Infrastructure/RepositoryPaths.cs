namespace Ccflare.Tests.Infrastructure;

/// <summary>
/// Locates the checkout from the test binaries. Compile-time source paths cannot be used:
/// deterministic CI builds map them to "/_/".
/// </summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Ccflare.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Ccflare.sln above {AppContext.BaseDirectory}.");
    }
}
