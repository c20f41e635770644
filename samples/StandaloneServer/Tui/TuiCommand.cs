using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui;

/// <summary>
/// <c>--tui</c> (or a bare <c>tui</c>): opens the terminal UI against a running server
/// (<c>--server URL</c>, default <c>http://localhost:{port}</c>), or starts one in-process
/// on the configured port when none answers.
/// </summary>
internal static class TuiCommand
{
    /// <summary>Keeps an in-process server quiet so its console logs do not draw over the UI.</summary>
    private const int RedirectedWidth = 160;

    private static readonly string[] QuietLogging = ["--Logging:Console:LogLevel:Default=None"];

    /// <summary>Runs the UI when the arguments ask for it; null otherwise.</summary>
    public static async Task<int?> TryRunAsync(StandaloneSettings settings, CancellationToken cancellationToken = default)
    {
        if (!TryParse(settings.RemainingArgs, out var server, out var token, out var rest, out var error))
        {
            return null;
        }
        var console = AnsiConsole.Console;
        if (Console.IsOutputRedirected)
        {
            // Spectre assumes 80 columns for a pipe; the account and request tables need more.
            console.Profile.Width = RedirectedWidth;
        }
        if (error is not null)
        {
            await Console.Error.WriteLineAsync("error: " + error).ConfigureAwait(false);
            return 1;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var port = settings.Port ?? ConfiguredPort(settings) ?? StandaloneSettings.DefaultPort;
            var target = server ?? new Uri($"http://localhost:{port.ToString(CultureInfo.InvariantCulture)}/");
            token ??= Environment.GetEnvironmentVariable("CCFLARE_ADMIN_TOKEN");

            if (await AnswersAsync(target, cancel.Token).ConfigureAwait(false))
            {
                return await RunAgainstAsync(console, target, token, cancel.Token).ConfigureAwait(false);
            }

            console.MarkupLine($"[yellow]No Ccflare server answered at {Markup.Escape(target.ToString())}; starting one in-process on port {port}.[/]");
            WebApplication app;
            try
            {
                app = StandaloneProgram.Build(settings with { RemainingArgs = [.. rest, .. QuietLogging] });
            }
            catch (InvalidOperationException ex)
            {
                await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
                return 1;
            }
            await using (app.ConfigureAwait(false))
            {
                try
                {
                    await app.StartAsync(cancel.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or InvalidOperationException or Microsoft.Extensions.Options.OptionsValidationException)
                {
                    await Console.Error.WriteLineAsync("error: could not start the server: " + ex.Message).ConfigureAwait(false);
                    return 1;
                }
                var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                    ?? target.ToString();
                try
                {
                    return await RunAgainstAsync(console, new Uri(address.TrimEnd('/') + "/"), token, cancel.Token).ConfigureAwait(false);
                }
                finally
                {
                    await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Recognises <c>--tui</c>/<c>tui</c> and reads <c>--server</c> and <c>--token</c>.</summary>
    internal static bool TryParse(IReadOnlyList<string> args, out Uri? server, out string? token, out List<string> rest, out string? error)
    {
        server = null;
        token = null;
        error = null;
        rest = [];
        var isTui = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--tui" || (i == 0 && arg == "tui"))
            {
                isTui = true;
            }
            else if (arg is "--server" or "--token" && i + 1 < args.Count)
            {
                if (arg == "--server")
                {
                    server = ParseServer(args[++i], ref error);
                }
                else
                {
                    token = args[++i];
                }
            }
            else if (arg.StartsWith("--server=", StringComparison.Ordinal))
            {
                server = ParseServer(arg["--server=".Length..], ref error);
            }
            else if (arg.StartsWith("--token=", StringComparison.Ordinal))
            {
                token = arg["--token=".Length..];
            }
            else if (arg is "--server" or "--token")
            {
                error = $"{arg} needs a value.";
            }
            else
            {
                rest.Add(arg);
            }
        }
        return isTui;
    }

    private static Uri? ParseServer(string raw, ref string? error)
    {
        if (Uri.TryCreate(raw, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
        }
        error = $"--server must be an http or https URL (was '{raw}').";
        return null;
    }

    private static int? ConfiguredPort(StandaloneSettings settings)
    {
        try
        {
            return CcflareJsonConfiguration.ReadFile(settings.ConfigFilePath).TryGetValue("Ccflare:Port", out var raw)
                && int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static async Task<bool> AnswersAsync(Uri server, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(new Uri(server, "health"), cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task<int> RunAgainstAsync(IAnsiConsole console, Uri server, string? token, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) };
        var app = new TuiApp(new CcflareApiClient(http, token), TimeProvider.System);
        return await app.RunAsync(console, cancellationToken).ConfigureAwait(false);
    }
}
