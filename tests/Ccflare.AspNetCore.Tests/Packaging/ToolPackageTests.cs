using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Packaging;

/// <summary>
/// The standalone server packs as the <c>Ccflare.Server</c> .NET tool, installs from a local folder
/// feed and runs as <c>ccflare</c> with the server's flags, CLI verbs and embedded dashboard.
/// </summary>
[Collection(RepositoryBuildCollection.Name)]
public sealed class ToolPackageTests : IDisposable
{
    private const string PackageId = "Ccflare.Server";
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("ccflare-tool-");
    private readonly string _version = $"0.0.0-ci.{DateTime.UtcNow:yyyyMMddHHmmssfff}";

    public void Dispose() => _work.Delete(recursive: true);

    [Fact]
    public async Task The_tool_installs_from_a_folder_feed_and_serves_as_ccflare()
    {
        // Packs the build the tests already made (same configuration): no second build of the solution.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var feed = Path.Combine(_work.FullName, "feed");
        var (packCode, packOutput) = await CommandLine.RunAsync("dotnet",
            ["pack", RepositoryPaths.Combine("samples", "StandaloneServer"), "--no-build", "-c", configuration, "-o", feed, $"-p:Version={_version}", "-nologo"],
            RepositoryPaths.Root);
        Assert.True(packCode == 0, packOutput);
        using (var zip = ZipFile.OpenRead(Path.Combine(feed, $"{PackageId}.{_version}.nupkg")))
        {
            var settings = zip.Entries.Single(e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal));
            using var reader = new StreamReader(settings.Open());
            Assert.Contains("Name=\"ccflare\"", await reader.ReadToEndAsync(), StringComparison.Ordinal);
            Assert.Contains("README.md", zip.Entries.Select(e => e.FullName));
        }

        var tools = Path.Combine(_work.FullName, "tools");
        var (installCode, installOutput) = await CommandLine.RunAsync("dotnet",
            ["tool", "install", "--tool-path", tools, "--add-source", feed, PackageId, "--version", _version],
            _work.FullName);
        Assert.True(installCode == 0, installOutput);
        var ccflare = Path.Combine(tools, "ccflare");
        Assert.True(File.Exists(ccflare), installOutput);

        var data = Path.Combine(_work.FullName, "data");
        var port = StandaloneProcess.FreePort();
        await using var server = await StandaloneProcess.StartCommandAsync(ccflare, ["--port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", data], port);

        using var health = await server.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using (var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()))
        {
            Assert.Equal("ok", body.RootElement.GetProperty("status").GetString());
        }
        using var dashboard = await server.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("Ccflare dashboard", await dashboard.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var added = await server.Client.PostAsJsonAsync("/api/accounts", new { name = "tool-account", provider = "anthropic", api_key = "sk-ant-tool-test" });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);

        // A CLI verb against the same data directory, next to the running server.
        var (listCode, listOutput) = await CommandLine.RunAsync(ccflare, ["--data-dir", data, "--list"], _work.FullName, timeout: TimeSpan.FromMinutes(1));
        Assert.True(listCode == 0, listOutput);
        Assert.Contains("tool-account", listOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-ant-tool-test", listOutput, StringComparison.Ordinal);
    }
}
