using Ccflare.StandaloneServer.Cli;
using Microsoft.Extensions.Configuration.Memory;

namespace Ccflare.StandaloneServer;

internal static class StandaloneProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        StandaloneSettings settings;
        try
        {
            settings = StandaloneSettings.Parse(args, Environment.GetEnvironmentVariable);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 2;
        }
        if (settings.ShowHelp)
        {
            await Console.Out.WriteAsync(Usage).ConfigureAwait(false);
            return 0;
        }
        // Account commands (--add-account, --list, --remove, --pause, --resume) run against the data directory and exit.
        if (await AccountCli.TryRunAsync(settings, ccflare => ConfigureStorage(ccflare, settings)).ConfigureAwait(false) is { } accountExit) return accountExit;
        if (await Cli.MaintenanceCli.TryRunAsync(settings, Console.Out, Console.Error).ConfigureAwait(false) is { } maintenanceExit) return maintenanceExit;
        if (await Tui.TuiCommand.TryRunAsync(settings).ConfigureAwait(false) is { } tuiExit) return tuiExit;

        WebApplication app;
        try
        {
            app = Build(settings);
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 2;
        }

        await using (app.ConfigureAwait(false))
        {
            try
            {
                // Access-key users (--add-user NAME, --list-users) run against the data directory and exit.
                if (await Cli.UserCli.TryRunAsync([.. settings.RemainingArgs], app.Services, Console.Out, Console.Error).ConfigureAwait(false) is { } userExit)
                {
                    return userExit;
                }
                await app.RunAsync().ConfigureAwait(false);
            }
            catch (Microsoft.Extensions.Options.OptionsValidationException ex)
            {
                await Console.Error.WriteLineAsync("error: invalid configuration: " + string.Join(" ", ex.Failures)).ConfigureAwait(false);
                return 2;
            }
            catch (System.Data.Common.DbException ex)
            {
                await Console.Error.WriteLineAsync("error: the database failed: " + ex.Message).ConfigureAwait(false);
                return 1;
            }
            catch (IOException ex) when (ex.InnerException is System.Net.Sockets.SocketException || ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
                return 1;
            }
        }
        return 0;
    }

    /// <summary>Builds the server (also used by CLI commands that need the same services and data directory).</summary>
    public static WebApplication Build(StandaloneSettings settings)
    {
        PrivateFiles.EnsureDirectory(settings.DataDirectory);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [.. settings.RemainingArgs],
            ContentRootPath = AppContext.BaseDirectory,
        });

        // ccflare.json, then ccflare's environment variables, sit below every standard source.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = CcflareJsonConfiguration.ReadFile(settings.ConfigFilePath) });
        builder.Configuration.Sources.Insert(1, new MemoryConfigurationSource { InitialData = CcflareJsonConfiguration.ReadEnvironment(Environment.GetEnvironmentVariable) });
        AddFrameworkLogDefaults(builder.Configuration);

        var port = settings.Port ?? builder.Configuration.GetValue<int?>("Ccflare:Port") ?? StandaloneSettings.DefaultPort;
        if (settings.Port is not null || string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls($"http://{settings.Host ?? "localhost"}:{port}");
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            Ccflare.Security.CcflareKestrelLimits.Apply(kestrel);
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(30));

        var ccflare = builder.Services.AddCcflare(options =>
        {
            options.Port = port;
            options.DataProtectionKeysPath ??= settings.KeysDirectory;
            // PostgreSQL replicas each keep their own journal in their data directory; the file stores default to theirs anyway.
            options.HistoryJournalDirectory ??= settings.DataDirectory;
        });
        ConfigureStorage(ccflare, settings);

        var app = builder.Build();
        app.MapCcflare();
        return app;
    }

    /// <summary>
    /// What the ASP.NET Core templates put in appsettings.json, below every other source: framework
    /// categories log from Warning up, and hosting diagnostics not at all. Without it every proxied
    /// request writes two console lines, and whenever that category is enabled (even for Critical only)
    /// the host starts an Activity and a log scope per request. Applies only when neither level is configured.
    /// </summary>
    private static void AddFrameworkLogDefaults(IConfigurationManager configuration)
    {
        var levels = configuration.GetSection("Logging:LogLevel");
        if (levels["Microsoft.AspNetCore"] is not null || levels["Microsoft.AspNetCore.Hosting.Diagnostics"] is not null)
        {
            return;
        }
        configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "None",
            },
        });
    }

    /// <summary>The store: SQLite in the data directory by default, LiteDB, PostgreSQL or memory on request. The CLI uses the same.</summary>
    public static void ConfigureStorage(ICcflareBuilder ccflare, StandaloneSettings settings)
    {
        switch (settings.Storage)
        {
            case "memory":
                ccflare.UseInMemoryStorage();
                break;
            case "litedb":
                ccflare.UseLiteDbStorage(settings.DatabasePath);
                break;
            case "postgres":
                ccflare.UsePostgreSqlStorage(settings.ConnectionString!);
                break;
            default:
                ccflare.UseSqliteStorage(settings.DatabasePath);
                break;
        }
    }

    private const string Usage = """
        Ccflare standalone server

        Usage: StandaloneServer [options]

          --port N            Port to listen on (PORT; ccflare.json "port"; default 8080)
          --host HOST         Interface to bind (CCFLARE_HOST; default localhost)
          --data-dir DIR      Data directory (CCFLARE_DATA_DIR; default $XDG_CONFIG_HOME/ccflare or ~/.config/ccflare)
          --storage KIND      sqlite (default), litedb, postgres or memory (CCFLARE_STORAGE)
          --connection-string S  PostgreSQL connection string for --storage postgres (CCFLARE_CONNECTION_STRING),
                              e.g. "Host=db;Database=ccflare;Username=ccflare;Password=..."; replicas sharing it
                              share accounts, rate limits, settings, users, history and the secrets' key ring
          --serve             Start the server (the default)
          --tui               Terminal UI (--server URL, --token T; starts a server when none answers)
          --stats             Print statistics from the data directory
          --reset-stats       Zero per-account request counters
          --clear-history     Delete request history
          --analyze           Database performance report
          --add-account NAME --provider P [--api-key KEY] [--base-url URL] [--weight N]
          --list | --remove NAME | --pause NAME | --resume NAME
          --add-user NAME     Create an access key (shown once); --list-users lists users
          --Ccflare:Key=value Any Ccflare option (also Ccflare__Key environment variables)
          --help              Show this help

        """;
}
