using System.Globalization;

namespace Ccflare.StandaloneServer;

/// <summary>The StandaloneServer's own command-line flags; everything else goes to ASP.NET Core configuration.</summary>
internal sealed record StandaloneSettings
{
    public const int DefaultPort = 8080;

    public int? Port { get; init; }
    public string? Host { get; init; }
    public required string DataDirectory { get; init; }
    public string Storage { get; init; } = "sqlite";

    /// <summary>Npgsql connection string for <c>--storage postgres</c>.</summary>
    public string? ConnectionString { get; init; }
    public bool ShowHelp { get; init; }

    /// <summary>Arguments left for ASP.NET Core configuration and for the CLI commands.</summary>
    public IReadOnlyList<string> RemainingArgs { get; init; } = [];

    public string DatabasePath => Path.Combine(DataDirectory, Storage == "litedb" ? "ccflare.litedb" : "ccflare.db");

    public string ConfigFilePath => Path.Combine(DataDirectory, "ccflare.json");

    /// <summary>The Data Protection key ring that encrypts secrets at rest; the server and the CLI share it.</summary>
    public string KeysDirectory => Path.Combine(DataDirectory, "keys");

    /// <summary>Parses flags; throws <see cref="ArgumentException"/> with a user-facing message on bad input.</summary>
    public static StandaloneSettings Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        int? port = null;
        string? host = null;
        string? dataDir = null;
        string? storage = null;
        string? connectionString = null;
        var help = false;
        var remaining = new List<string>();

        for (var i = 0; i < args.Count; i++)
        {
            var (name, inlineValue) = Split(args[i]);
            switch (name)
            {
                case "--port":
                    port = ParsePort(inlineValue ?? Next(args, ref i, name), "--port");
                    break;
                case "--host":
                    host = inlineValue ?? Next(args, ref i, name);
                    break;
                case "--data-dir":
                    dataDir = inlineValue ?? Next(args, ref i, name);
                    break;
                case "--storage":
                    storage = inlineValue ?? Next(args, ref i, name);
                    break;
                case "--connection-string":
                    connectionString = inlineValue ?? Next(args, ref i, name);
                    break;
                case "--help" or "-h":
                    help = true;
                    break;
                case "--serve":
                    break;
                default:
                    remaining.Add(args[i]);
                    break;
            }
        }

        port ??= environment("PORT") is { Length: > 0 } envPort ? ParsePort(envPort, "PORT") : null;
        host ??= environment("CCFLARE_HOST");
        dataDir ??= environment("CCFLARE_DATA_DIR");
        storage ??= environment("CCFLARE_STORAGE");
        storage = (storage ?? "sqlite").ToLowerInvariant();
        if (storage == "postgresql")
        {
            storage = "postgres";
        }
        if (storage is not ("sqlite" or "litedb" or "memory" or "postgres"))
        {
            throw new ArgumentException($"--storage must be sqlite, litedb, postgres or memory (was '{storage}').");
        }
        connectionString ??= environment("CCFLARE_CONNECTION_STRING");
        if (storage == "postgres" && string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ArgumentException("--storage postgres needs --connection-string (or CCFLARE_CONNECTION_STRING), for example \"Host=db;Database=ccflare;Username=ccflare;Password=...\".");
        }
        if (storage != "postgres" && connectionString is not null)
        {
            throw new ArgumentException($"--connection-string is only used with --storage postgres (storage is '{storage}').");
        }

        return new StandaloneSettings
        {
            Port = port,
            Host = host,
            DataDirectory = Path.GetFullPath(dataDir ?? DefaultDataDirectory(environment)),
            Storage = storage,
            ConnectionString = connectionString,
            ShowHelp = help,
            RemainingArgs = remaining,
        };
    }

    /// <summary><c>$XDG_CONFIG_HOME/ccflare</c>, else <c>~/.config/ccflare</c>, as ccflare does.</summary>
    public static string DefaultDataDirectory(Func<string, string?> environment)
    {
        var xdg = environment("XDG_CONFIG_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config")
            : xdg;
        return Path.Combine(root, "ccflare");
    }

    private static (string Name, string? Value) Split(string arg)
    {
        if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=', StringComparison.Ordinal) is var eq and > 2 && !arg.Contains(':', StringComparison.Ordinal))
        {
            return (arg[..eq], arg[(eq + 1)..]);
        }
        return (arg, null);
    }

    private static string Next(IReadOnlyList<string> args, ref int i, string name)
    {
        if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name} needs a value.");
        }
        return args[++i];
    }

    private static int ParsePort(string raw, string source) =>
        int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new ArgumentException($"{source} must be a port number between 1 and 65535 (was '{raw}').");
}
