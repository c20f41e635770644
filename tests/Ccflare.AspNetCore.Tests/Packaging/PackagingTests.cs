using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Xml.Linq;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Packaging;

/// <summary>
/// Packs the library NuGet packages, checks what they carry, and consumes them from a local
/// folder feed in a freshly created web project that proxies one request.
/// </summary>
[Collection(RepositoryBuildCollection.Name)]
public sealed class PackagingTests : IAsyncLifetime
{
    private static readonly string[] Packages = ["Ccflare.AspNetCore", "Ccflare.Storage.Sqlite", "Ccflare.Storage.LiteDb", "Ccflare.Storage.PostgreSql", "Ccflare.Storage.Testing"];
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("ccflare-pack-");
    private readonly string _version = $"0.0.0-ci.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task Packages_carry_metadata_and_work_from_a_local_feed()
    {
        var feed = Path.Combine(_work.FullName, "feed");
        foreach (var package in Packages)
        {
            var (code, output) = await RunAsync("dotnet", ["pack", Path.Combine(RepositoryRoot(), "src", package), "-c", "Release", "-o", feed, $"-p:Version={_version}", "-nologo"], RepositoryRoot());
            Assert.True(code == 0, output);
        }

        foreach (var package in Packages)
        {
            var nupkg = Path.Combine(feed, $"{package}.{_version}.nupkg");
            Assert.True(File.Exists(Path.Combine(feed, $"{package}.{_version}.snupkg")), $"{package} has no symbol package");
            using var zip = ZipFile.OpenRead(nupkg);
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("README.md", entries);
            Assert.Contains($"lib/net10.0/{package}.dll", entries);
            Assert.Contains($"lib/net10.0/{package}.xml", entries);

            using var nuspecStream = zip.GetEntry($"{package}.nuspec")!.Open();
            var nuspec = XDocument.Load(nuspecStream);
            var ns = nuspec.Root!.GetDefaultNamespace();
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            Assert.Equal("expression", metadata.Element(ns + "license")?.Attribute("type")?.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
            Assert.Contains("anthropic", metadata.Element(ns + "tags")?.Value);
            Assert.NotNull(metadata.Element(ns + "repository")?.Attribute("url"));
            var dependencies = metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
            switch (package)
            {
                case "Ccflare.AspNetCore":
                    Assert.Contains("Microsoft.Extensions.Http.Resilience", dependencies);
                    Assert.Contains(metadata.Descendants(ns + "frameworkReference"), f => f.Attribute("name")?.Value == "Microsoft.AspNetCore.App");
                    break;
                case "Ccflare.Storage.Sqlite":
                    Assert.Contains("Ccflare.AspNetCore", dependencies);
                    Assert.Contains("Microsoft.Data.Sqlite", dependencies);
                    break;
                case "Ccflare.Storage.LiteDb":
                    Assert.Contains("Ccflare.AspNetCore", dependencies);
                    Assert.Contains("LiteDB", dependencies);
                    break;
                case "Ccflare.Storage.PostgreSql":
                    Assert.Contains("Ccflare.AspNetCore", dependencies);
                    Assert.Contains("Npgsql", dependencies);
                    break;
                case "Ccflare.Storage.Testing":
                    Assert.Contains("Ccflare.AspNetCore", dependencies);
                    Assert.Contains("xunit.extensibility.core", dependencies);
                    Assert.Contains("xunit.assert", dependencies);
                    break;
            }
        }

        // A brand-new web project outside the repository consumes the packages from the folder feed.
        var consumer = Path.Combine(_work.FullName, "consumer");
        Directory.CreateDirectory(consumer);
        await File.WriteAllTextAsync(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Ccflare.AspNetCore" Version="{_version}" />
                <PackageReference Include="Ccflare.Storage.Sqlite" Version="{_version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), ConsumerProgram);
        var (buildCode, buildOutput) = await RunAsync("dotnet", ["build", consumer, "-nologo"], consumer);
        Assert.True(buildCode == 0, buildOutput);

        var port = StandaloneProcess.FreePort();
        var info = new ProcessStartInfo("dotnet", ["run", "--no-build", "--project", consumer, "--", "--urls", $"http://127.0.0.1:{port}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = consumer,
        };
        info.Environment.Remove("ASPNETCORE_URLS");
        using var process = Process.Start(info)!;
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await WaitForHealthAsync(client, process);
            using var add = await client.PostAsJsonAsync("/api/accounts", new { name = "pkg", provider = "anthropic", api_key = "sk-from-package-test", base_url = _upstream.BaseUrl });
            Assert.Equal(HttpStatusCode.Created, add.StatusCode);
            using var proxied = await client.PostAsync("/v1/anthropic/v1/messages",
                new StringContent("""{"model":"claude-x","max_tokens":5,"messages":[]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
            Assert.Equal("sk-from-package-test", Assert.Single(_upstream.Received).Header("x-api-key"));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private const string ConsumerProgram = """
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddCcflare().UseSqliteStorage(Path.Combine(AppContext.BaseDirectory, "consumer.db"));
        var app = builder.Build();
        app.MapCcflare();
        app.Run();
        """;

    private static async Task WaitForHealthAsync(HttpClient client, Process process)
    {
        for (var i = 0; i < 300; i++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("Consumer exited: " + await process.StandardError.ReadToEndAsync());
            }
            try
            {
                using var response = await client.GetAsync("/health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("Consumer did not start.");
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] args, string workingDirectory)
    {
        var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string RepositoryRoot() => RepositoryPaths.Root;
}
