using System.Diagnostics;

namespace Ccflare.Tests.Infrastructure;

/// <summary>Runs a command line tool (dotnet, git) to completion.</summary>
internal static class CommandLine
{
    public static async Task<(int Code, string Output)> RunAsync(
        string fileName, IEnumerable<string> args, string workingDirectory, IDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish in time:\n{await stdout}{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>Tests that build or pack the repository's projects run one at a time: they share outputs and the machine's cores.</summary>
[CollectionDefinition(Name)]
public sealed class RepositoryBuildCollection
{
    public const string Name = "Repository builds";
}
