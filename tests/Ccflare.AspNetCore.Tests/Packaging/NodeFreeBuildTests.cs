using System.Net;
using System.Text.RegularExpressions;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Packaging;

/// <summary>
/// A fresh clone builds and serves the dashboard with only the .NET SDK: Node and npm are not on
/// <c>PATH</c>, so the build can only embed the committed <c>Dashboard/dist</c>.
/// </summary>
[Collection(RepositoryBuildCollection.Name)]
public sealed partial class NodeFreeBuildTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("ccflare-nonode-");

    public void Dispose() => _work.Delete(recursive: true);

    [Fact]
    public async Task A_clone_builds_and_serves_the_dashboard_without_node()
    {
        var clone = Path.Combine(_work.FullName, "repo");
        var (cloneCode, cloneOutput) = await CommandLine.RunAsync("git", ["clone", "--quiet", RepositoryPaths.Root, clone], _work.FullName);
        Assert.True(cloneCode == 0, cloneOutput);
        Assert.False(Directory.Exists(Path.Combine(clone, "src", "Ccflare.AspNetCore", "Dashboard", "app", "node_modules")));

        // PATH holds only the dotnet host: node, npm and npx are nowhere to be found.
        var bin = Directory.CreateDirectory(Path.Combine(_work.FullName, "bin")).FullName;
        File.CreateSymbolicLink(Path.Combine(bin, "dotnet"), DotnetHost());
        var environment = new Dictionary<string, string> { ["PATH"] = bin };

        var (buildCode, buildOutput) = await CommandLine.RunAsync(
            Path.Combine(bin, "dotnet"),
            ["build", Path.Combine(clone, "samples", "StandaloneServer"), "-c", "Debug", "-nologo", "-v", "q", "-nodeReuse:false"],
            clone, environment, TimeSpan.FromMinutes(10));
        Assert.True(buildCode == 0, buildOutput);

        var dll = Path.Combine(clone, "samples", "StandaloneServer", "bin", "Debug", "net10.0", "StandaloneServer.dll");
        var port = StandaloneProcess.FreePort();
        await using var server = await StandaloneProcess.StartCommandAsync(
            Path.Combine(bin, "dotnet"), [dll, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", Path.Combine(_work.FullName, "data")],
            port, environment);

        var index = await server.Client.GetStringAsync("/");
        var script = ScriptSource().Match(index);
        Assert.True(script.Success, index);
        using var response = await server.Client.GetAsync(script.Groups["src"].Value);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/javascript", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var committed = await File.ReadAllBytesAsync(Path.Combine(clone, "src", "Ccflare.AspNetCore", "Dashboard", "dist", script.Groups["src"].Value.TrimStart('.', '/')));
        Assert.Equal(committed, await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>The real dotnet executable the tests run under.</summary>
    private static string DotnetHost()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = new FileInfo(Path.Combine(directory, "dotnet"));
            if (candidate.Exists)
            {
                return candidate.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? candidate.FullName;
            }
        }
        throw new InvalidOperationException("dotnet is not on PATH.");
    }

    [GeneratedRegex(@"<script[^>]*\ssrc=""(?<src>[^""]+\.js)""")]
    private static partial Regex ScriptSource();
}
