using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Ccflare.Storage.PostgreSql.Tests;

/// <summary>
/// A throwaway PostgreSQL cluster for the tests: <c>initdb</c> into a temporary directory, started
/// with <c>pg_ctl</c> on a free loopback port (and a Unix socket in the same directory), trust
/// authentication, fsync off. One per test process, shared by every test class, stopped when the
/// process exits. PostgreSQL refuses to run as root, so as root it runs as the <c>postgres</c> user.
/// </summary>
/// <remarks>
/// Binaries are looked up in <c>$CCFLARE_TEST_PG_BIN</c>, then <c>/usr/lib/postgresql/*/bin</c>
/// (newest first), then <c>PATH</c>. When none is found the tests FAIL with instructions; they are
/// never skipped. CI installs Debian's <c>postgresql</c> package.
/// </remarks>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(() => Task.Run(StartAsync));

    private PostgresServer(string root, string binDirectory, int port, string? runAs)
    {
        Root = root;
        BinDirectory = binDirectory;
        Port = port;
        RunAs = runAs;
    }

    /// <summary>The temporary directory holding the data directory, the socket and the log.</summary>
    public string Root { get; }

    /// <summary>Where <c>initdb</c>, <c>pg_ctl</c> and <c>postgres</c> were found.</summary>
    public string BinDirectory { get; }

    /// <summary>TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    private string? RunAs { get; }

    private string DataDirectory => Path.Combine(Root, "data");

    /// <summary>The shared server, started on first use.</summary>
    public static Task<PostgresServer> GetAsync() => Shared.Value;

    /// <summary>Connection string of database <paramref name="database"/> over TCP on loopback.</summary>
    public string ConnectionString(string database = "postgres", int maxPoolSize = 20) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "postgres",
            Database = database,
            MaxPoolSize = maxPoolSize,
            Timeout = 15,
        }.ConnectionString;

    /// <summary>Creates a fresh, empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "ccflare")
    {
        var name = prefix + "_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name};", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in $CCFLARE_TEST_PG_BIN, /usr/lib/postgresql/*/bin or PATH. " +
            "These tests start their own throwaway cluster and need them: on Debian/Ubuntu run 'apt-get install -y postgresql'.");
        var runAs = Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" ? "postgres" : null;
        if (runAs is not null && !File.ReadAllLines("/etc/passwd").Any(line => line.StartsWith(runAs + ":", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException(
                $"PostgreSQL refuses to run as root and there is no '{runAs}' user to run it as: install Debian's 'postgresql' package (it creates the user) or 'useradd --system {runAs}'.");
        }
        RemoveStaleClusters();
        var root = Path.Combine(Path.GetTempPath(), "ccflare-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        if (runAs is not null)
        {
            await RunAsync("chown", ["-R", runAs, root], null);
        }
        var port = FreePort();
        var server = new PostgresServer(root, bin, port, runAs);
        await server.RunToolAsync("initdb", ["-D", server.DataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        await server.RunToolAsync("pg_ctl",
        [
            "-D", server.DataDirectory, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "start",
            "-o", $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=64MB",
        ]);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        server.StartWatchdog();
        return server;
    }

    /// <summary>
    /// A detached shell that stops the cluster and deletes its directory once this process is gone, however
    /// it ends (the test host may be killed before <c>ProcessExit</c> handlers finish).
    /// </summary>
    private void StartWatchdog()
    {
        var pgCtl = Path.Combine(BinDirectory, "pg_ctl");
        var stop = RunAs is null ? $"'{pgCtl}'" : $"runuser -u {RunAs} -- '{pgCtl}'";
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; " +
                     $"{stop} -D '{DataDirectory}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{Root}'";
        var info = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "sh", "-c", script })
        {
            info.ArgumentList.Add(arg);
        }
        using var watchdog = Process.Start(info);
    }

    /// <summary>Deletes clusters of earlier runs that are stopped (no <c>postmaster.pid</c>) but were not removed.</summary>
    private static void RemoveStaleClusters()
    {
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), "ccflare-pg-*"))
        {
            try
            {
                if (!File.Exists(Path.Combine(directory, "data", "postmaster.pid"))
                    && Directory.GetLastWriteTimeUtc(directory) < DateTime.UtcNow.AddMinutes(-10))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>Stops the server at once and deletes its directory.</summary>
    public void Stop()
    {
        try
        {
            RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]).Wait(TimeSpan.FromSeconds(20));
        }
        catch (AggregateException)
        {
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private Task RunToolAsync(string tool, IReadOnlyList<string> args)
    {
        var path = Path.Combine(BinDirectory, tool);
        return RunAs is null ? RunAsync(path, args, null) : RunAsync("runuser", ["-u", RunAs, "--", path, .. args], null);
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> args, string? workingDirectory)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }

    private static string? FindBinDirectory()
    {
        static bool HasServer(string directory) =>
            File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl")) && File.Exists(Path.Combine(directory, "postgres"));

        if (Environment.GetEnvironmentVariable("CCFLARE_TEST_PG_BIN") is { Length: > 0 } configured && HasServer(configured))
        {
            return configured;
        }
        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var versions = Directory.GetDirectories(debianRoot)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(x => HasServer(x.Dir))
                .OrderByDescending(x => x.Version)
                .ToList();
            if (versions.Count > 0)
            {
                return versions[0].Dir;
            }
        }
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (HasServer(directory))
            {
                return directory;
            }
        }
        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
