using System.Globalization;
using Ccflare.Accounts;
using Ccflare.Management;
using Ccflare.OAuth;
using Ccflare.Providers;
using Ccflare.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ccflare.StandaloneServer.Cli;

/// <summary>
/// Account commands of the standalone server: <c>--add-account NAME --provider P [--api-key KEY]
/// [--base-url URL] [--weight N] [--priority N]</c>, <c>--list</c>, <c>--remove NAME</c>, <c>--pause NAME</c>,
/// <c>--resume NAME</c>, <c>--set-priority NAME N</c>, with the server's <c>--data-dir DIR</c> and <c>--storage</c>. They work directly on the data
/// directory's store (with the same Data Protection keys as the server), so they work whether or
/// not the server is running; a running server picks the changes up within
/// <see cref="CcflareOptions.AccountReloadIntervalMs"/>.
/// </summary>
internal static class AccountCli
{
    private static readonly string[] Commands = ["--add-account", "--list", "--remove", "--pause", "--resume", "--set-priority"];

    /// <summary>True when <paramref name="args"/> name an account command.</summary>
    private static bool IsCommand(IReadOnlyList<string> args)
    {
        foreach (var arg in args)
        {
            if (Array.IndexOf(Commands, arg) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Runs the account command in <paramref name="args"/> and returns its exit code (0 ok, 1 error),
    /// or null when <paramref name="args"/> are not a CLI command (start the server instead).
    /// </summary>
    /// <param name="settings">The parsed standalone flags: data directory and storage kind; the command is read from <see cref="StandaloneSettings.RemainingArgs"/>.</param>
    /// <param name="configureStorage">Selects the same store the server uses for <paramref name="settings"/>.</param>
    /// <param name="stdin">Input for pasted codes and keys; the console by default.</param>
    /// <param name="stdout">Normal output; the console by default.</param>
    /// <param name="stderr">Errors; the console by default.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    public static async Task<int?> TryRunAsync(
        StandaloneSettings settings,
        Action<ICcflareBuilder> configureStorage,
        TextReader? stdin = null,
        TextWriter? stdout = null,
        TextWriter? stderr = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(configureStorage);
        var args = settings.RemainingArgs;
        if (!IsCommand(args))
        {
            return null;
        }
        stdin ??= Console.In;
        stdout ??= Console.Out;
        stderr ??= Console.Error;

        CliArguments parsed;
        try
        {
            parsed = CliArguments.Parse([.. args]);
        }
        catch (FormatException ex)
        {
            await stderr.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 1;
        }

        var dataDir = settings.DataDirectory;
        try
        {
            PrivateFiles.EnsureDirectory(dataDir);
            await using var services = BuildServices(settings, configureStorage);
            await services.GetRequiredService<ICcflareStore>().InitializeAsync(cancellationToken).ConfigureAwait(false);
            services.GetRequiredService<AccountRegistry>().Load(await services.GetRequiredService<AccountStore>().GetAccountsAsync(cancellationToken).ConfigureAwait(false));
            var context = new CliContext(services, stdin, stdout, stderr, cancellationToken);
            return parsed.Command switch
            {
                "--list" => await ListAsync(context).ConfigureAwait(false),
                "--add-account" => await AddAsync(context, parsed).ConfigureAwait(false),
                "--remove" => await RemoveAsync(context, parsed.Name!).ConfigureAwait(false),
                "--pause" => await SetPausedAsync(context, parsed.Name!, paused: true).ConfigureAwait(false),
                "--set-priority" => await SetPriorityAsync(context, parsed.Name!, parsed.Priority!.Value).ConfigureAwait(false),
                _ => await SetPausedAsync(context, parsed.Name!, paused: false).ConfigureAwait(false),
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await stderr.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 1;
        }
    }

    private static ServiceProvider BuildServices(StandaloneSettings settings, Action<ICcflareBuilder> configureStorage)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. ConfigurationArguments(settings.RemainingArgs)])
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        configureStorage(services.AddCcflare(o => o.DataProtectionKeysPath ??= settings.KeysDirectory));
        return services.BuildServiceProvider();
    }

    /// <summary>The <c>--Section:Key=value</c> and <c>--Section:Key value</c> arguments, which configure rather than command.</summary>
    private static IEnumerable<string> ConfigurationArguments(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || !arg.Contains(':', StringComparison.Ordinal))
            {
                continue;
            }
            yield return arg;
            if (!arg.Contains('=', StringComparison.Ordinal) && i + 1 < args.Count)
            {
                yield return args[++i];
            }
        }
    }

    private static async Task<int> ListAsync(CliContext context)
    {
        var registry = context.Services.GetRequiredService<AccountRegistry>();
        var now = context.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        var accounts = registry.All;
        if (accounts.Count == 0)
        {
            await context.Out.WriteLineAsync("No accounts.").ConfigureAwait(false);
            return 0;
        }
        var rows = new List<string[]> { new[] { "NAME", "PROVIDER", "AUTH", "STATUS", "WEIGHT", "PRIORITY", "REQUESTS", "BASE URL" } };
        foreach (var state in accounts)
        {
            var a = state.Snapshot;
            rows.Add(
            [
                a.Name,
                a.Provider,
                a.AuthMethod,
                StatusOf(a, now),
                a.Weight.ToString(CultureInfo.InvariantCulture),
                a.Priority.ToString(CultureInfo.InvariantCulture),
                a.TotalRequests.ToString(CultureInfo.InvariantCulture),
                a.BaseUrl ?? "-",
            ]);
        }
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        foreach (var row in rows)
        {
            var line = string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i])));
            await context.Out.WriteLineAsync(line.TrimEnd()).ConfigureAwait(false);
        }
        return 0;
    }

    private static string StatusOf(Account a, DateTimeOffset now)
    {
        if (a.Paused)
        {
            return "paused";
        }
        if (a.TokenStatus is { } tokenStatus)
        {
            return tokenStatus;
        }
        if (a.RateLimitedUntil is { } until && until > now)
        {
            return "rate-limited";
        }
        return a.AuthMethod == AccountAuthMethods.OAuth && a.ExpiresAt is { } expires && expires <= now && string.IsNullOrEmpty(a.RefreshToken)
            ? "expired"
            : "active";
    }

    private static async Task<int> AddAsync(CliContext context, CliArguments args)
    {
        var name = args.Name!;
        var providers = context.Services.GetRequiredService<ProviderRegistry>();
        var problem = AccountRules.ValidateName(name)
            ?? (args.Provider is null ? $"--provider is required: {string.Join(", ", providers.Names)}." : null)
            ?? (args.Provider is not null && providers.Find(args.Provider) is null
                ? $"provider '{args.Provider}' is unknown; use one of: {string.Join(", ", providers.Names)}." : null)
            ?? AccountRules.ValidateBaseUrl(args.BaseUrl)
            ?? AccountRules.ValidateWeight(args.Weight)
            ?? AccountRules.ValidatePriority(args.Priority);
        if (problem is not null)
        {
            return await FailAsync(context, problem).ConfigureAwait(false);
        }
        problem = await context.Services.GetRequiredService<Ccflare.Security.BaseUrlGuard>().CheckAsync(args.BaseUrl, context.CancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return await FailAsync(context, problem).ConfigureAwait(false);
        }
        var provider = providers.Find(args.Provider!)!;
        var registry = context.Services.GetRequiredService<AccountRegistry>();
        if (registry.FindByName(name) is not null)
        {
            return await FailAsync(context, $"an account named '{name}' already exists.").ConfigureAwait(false);
        }
        var accounts = context.Services.GetRequiredService<AccountService>();

        if (provider.OAuthDefaults is not null)
        {
            if (args.ApiKey is not null)
            {
                return await FailAsync(context, $"provider '{provider.Name}' signs in with OAuth; --api-key is for providers that take API keys.").ConfigureAwait(false);
            }
            var signIn = context.Services.GetRequiredService<OAuthSignIn>();
            var start = await signIn.StartAsync(provider.Name, name, context.CancellationToken).ConfigureAwait(false);
            if (!start.Succeeded)
            {
                return await FailAsync(context, start.Error!).ConfigureAwait(false);
            }
            await context.Out.WriteLineAsync($"Open this URL in a browser and authorize account '{name}':").ConfigureAwait(false);
            await context.Out.WriteLineAsync(start.Value!.AuthUrl).ConfigureAwait(false);
            await context.Out.WriteLineAsync("Then paste the authorization code shown (code#state) and press Enter:").ConfigureAwait(false);
            await context.Out.FlushAsync(context.CancellationToken).ConfigureAwait(false);
            var code = (await context.In.ReadLineAsync(context.CancellationToken).ConfigureAwait(false))?.Trim();
            if (string.IsNullOrEmpty(code))
            {
                return await FailAsync(context, "no authorization code was entered.").ConfigureAwait(false);
            }
            var done = await signIn.CompleteAsync(provider.Name, start.Value.SessionId, code, callbackState: null, context.CancellationToken).ConfigureAwait(false);
            if (!done.Succeeded)
            {
                return await FailAsync(context, done.Error!).ConfigureAwait(false);
            }
            if (args.BaseUrl is not null || args.Weight is not null)
            {
                await accounts.UpdateAsync(done.Value!.Id, a => a with { BaseUrl = args.BaseUrl ?? a.BaseUrl, Weight = args.Weight ?? a.Weight }, context.CancellationToken).ConfigureAwait(false);
            }
            await context.Out.WriteLineAsync($"Account '{name}' added ({provider.Name}, OAuth).").ConfigureAwait(false);
            return 0;
        }

        var apiKey = args.ApiKey;
        if (apiKey is null)
        {
            await context.Out.WriteLineAsync($"Enter the API key for account '{name}':").ConfigureAwait(false);
            await context.Out.FlushAsync(context.CancellationToken).ConfigureAwait(false);
            apiKey = await context.In.ReadLineAsync(context.CancellationToken).ConfigureAwait(false);
        }
        apiKey = apiKey?.Trim();
        if (string.IsNullOrEmpty(apiKey) || apiKey.Length > 4096)
        {
            return await FailAsync(context, "an API key is required (--api-key KEY or one line on standard input).").ConfigureAwait(false);
        }
        var (outcome, _) = await accounts.AddAsync(new Account
        {
            Id = Guid.NewGuid().ToString(),
            Name = name,
            Provider = provider.Name,
            AuthMethod = AccountAuthMethods.ApiKey,
            ApiKey = apiKey,
            BaseUrl = args.BaseUrl,
            Weight = args.Weight ?? 1,
            Priority = args.Priority ?? 0,
        }, context.CancellationToken).ConfigureAwait(false);
        if (outcome != AccountChangeOutcome.Done)
        {
            return await FailAsync(context, $"an account named '{name}' already exists.").ConfigureAwait(false);
        }
        await context.Out.WriteLineAsync($"Account '{name}' added ({provider.Name}, API key).").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> RemoveAsync(CliContext context, string name)
    {
        if (context.Services.GetRequiredService<AccountRegistry>().FindByName(name) is not { } state)
        {
            return await FailAsync(context, $"no account named '{name}'.").ConfigureAwait(false);
        }
        await context.Services.GetRequiredService<AccountService>().DeleteAsync(state.Id, context.CancellationToken).ConfigureAwait(false);
        await context.Out.WriteLineAsync($"Account '{name}' removed.").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> SetPausedAsync(CliContext context, string name, bool paused)
    {
        if (context.Services.GetRequiredService<AccountRegistry>().FindByName(name) is not { } state)
        {
            return await FailAsync(context, $"no account named '{name}'.").ConfigureAwait(false);
        }
        await context.Services.GetRequiredService<AccountService>().UpdateAsync(state.Id, a => a with { Paused = paused }, context.CancellationToken).ConfigureAwait(false);
        await context.Out.WriteLineAsync($"Account '{name}' {(paused ? "paused" : "resumed")}.").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> SetPriorityAsync(CliContext context, string name, int priority)
    {
        if (AccountRules.ValidatePriority(priority) is { } problem)
        {
            return await FailAsync(context, problem).ConfigureAwait(false);
        }
        if (context.Services.GetRequiredService<AccountRegistry>().FindByName(name) is not { } state)
        {
            return await FailAsync(context, $"no account named '{name}'.").ConfigureAwait(false);
        }
        await context.Services.GetRequiredService<AccountService>().UpdateAsync(state.Id, a => a with { Priority = priority }, context.CancellationToken).ConfigureAwait(false);
        await context.Out.WriteLineAsync($"Account '{name}' now has priority {priority}.").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> FailAsync(CliContext context, string message)
    {
        await context.Error.WriteLineAsync("error: " + message).ConfigureAwait(false);
        return 1;
    }

    private sealed record CliContext(IServiceProvider Services, TextReader In, TextWriter Out, TextWriter Error, CancellationToken CancellationToken);

    /// <summary>The parsed command line; unknown options are rejected so typos do not start a server.</summary>
    private sealed record CliArguments(string Command, string? Name, string? Provider, string? ApiKey, string? BaseUrl, int? Weight, int? Priority)
    {
        public static CliArguments Parse(string[] args)
        {
            string? command = null, name = null, provider = null, apiKey = null, baseUrl = null;
            int? weight = null, priority = null;
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                string Value()
                {
                    if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    {
                        throw new FormatException($"{arg} needs a value.");
                    }
                    return args[++i];
                }
                void SetCommand(string value)
                {
                    if (command is not null)
                    {
                        throw new FormatException($"use one command at a time ({command} and {value} given).");
                    }
                    command = value;
                }
                switch (arg)
                {
                    case "--list":
                        SetCommand(arg);
                        break;
                    case "--add-account" or "--remove" or "--pause" or "--resume":
                        SetCommand(arg);
                        name = Value();
                        break;
                    case "--provider":
                        provider = Value();
                        break;
                    case "--api-key":
                        apiKey = Value();
                        break;
                    case "--base-url":
                        baseUrl = Value();
                        break;
                    case "--set-priority":
                        SetCommand(arg);
                        name = Value();
                        priority = Number(Value(), "--set-priority NAME N: N");
                        break;
                    case "--priority":
                        priority = Number(Value(), "--priority");
                        break;
                    case "--weight":
                        weight = int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var w)
                            ? w : throw new FormatException("--weight must be a whole number.");
                        break;
                    default:
                        // --Section:Key=value arguments are configuration, not commands.
                        if (!arg.Contains(':', StringComparison.Ordinal))
                        {
                            throw new FormatException($"unknown option '{arg}'. Commands: --add-account NAME --provider P [--api-key KEY] [--base-url URL] [--weight N] [--priority N], --list, --remove NAME, --pause NAME, --resume NAME, --set-priority NAME N; option --data-dir DIR.");
                        }
                        break;
                }
            }
            return new CliArguments(command!, name, provider, apiKey, baseUrl, weight, priority);
        }

        private static int Number(string value, string option) =>
            int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
                ? number : throw new FormatException($"{option} must be a whole number.");
    }
}
