using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;

namespace Ccflare.Dashboard;

/// <summary>One built dashboard file, read from the assembly's embedded resources.</summary>
internal sealed record DashboardAsset(string Path, byte[] Content, string ContentType, string ETag, bool Immutable);

/// <summary>
/// The dashboard's built files (Vite output), embedded as resources named
/// <c>CcflareDashboard/{relative path}</c> by Ccflare.AspNetCore.csproj. Loaded once, on first use.
/// </summary>
internal static class DashboardAssets
{
    public const string ResourcePrefix = "CcflareDashboard/";

    private static readonly Lazy<FrozenDictionary<string, DashboardAsset>> All = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Every embedded file by its path relative to the dashboard root (for example <c>assets/index-abc123.js</c>).</summary>
    public static FrozenDictionary<string, DashboardAsset> Files => All.Value;

    public static DashboardAsset? Find(string path) => Files.GetValueOrDefault(path);

    private static FrozenDictionary<string, DashboardAsset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var types = new FileExtensionContentTypeProvider();
        var files = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }
            var path = name[ResourcePrefix.Length..].Replace('\\', '/');
            var content = Read(assembly, name);
            if (!types.TryGetContentType(path, out var contentType))
            {
                contentType = "application/octet-stream";
            }
            if (contentType.StartsWith("text/", StringComparison.Ordinal) || contentType is "application/javascript" or "text/javascript" or "application/json" or "image/svg+xml")
            {
                contentType += "; charset=utf-8";
            }
            var hash = Convert.ToBase64String(SHA256.HashData(content), 0, 16).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            // Vite puts content hashes into everything under assets/: those never change at the same URL.
            var immutable = path.StartsWith("assets/", StringComparison.Ordinal);
            files[path] = new DashboardAsset(path, content, contentType, $"\"{hash}\"", immutable);
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
