using Ccflare.StandaloneServer.Tui.Screens;
using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui;

/// <summary>Knobs of the terminal UI.</summary>
internal sealed record TuiOptions
{
    /// <summary>How many requests the Requests screen shows.</summary>
    public int RequestLimit { get; init; } = 25;

    /// <summary>How many log entries the Logs screen shows.</summary>
    public int LogLimit { get; init; } = 50;

    /// <summary>Refresh interval of the live Requests screen when the server has no SSE stream.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Safety refresh interval while the SSE stream is connected.</summary>
    public TimeSpan StreamRefreshInterval { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// The terminal UI: a menu of screens in a loop. On a terminal that is not interactive
/// (input or output redirected) it prints every screen once and exits.
/// </summary>
internal sealed class TuiApp
{
    public const string QuitChoice = "Quit";

    public TuiApp(CcflareApiClient api, TimeProvider time, TuiOptions? options = null)
    {
        Api = api;
        options ??= new TuiOptions();
        Screens =
        [
            new ServerScreen(api, time),
            new AccountsScreen(api, time),
            new RequestsScreen(api, time, options),
            new StatsScreen(api, time),
            new AnalyticsScreen(api, time),
            new LogsScreen(api, time, options),
            new StrategyScreen(api, time),
        ];
    }

    public CcflareApiClient Api { get; }

    /// <summary>The screens, in menu order.</summary>
    public IReadOnlyList<TuiScreen> Screens { get; }

    public async Task<int> RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        console.Write(new Rule("[bold]Ccflare[/]"));
        console.MarkupLine($"Server: [link]{Markup.Escape(Api.BaseAddress.ToString())}[/]");

        if (!console.Profile.Capabilities.Interactive)
        {
            foreach (var screen in Screens)
            {
                await screen.RenderAsync(console, cancellationToken).ConfigureAwait(false);
            }
            return 0;
        }

        try
        {
            while (true)
            {
                var choice = await new SelectionPrompt<string>()
                    .Title("Ccflare: choose a screen")
                    .PageSize(12)
                    .AddChoices(Screens.Select(s => s.Title).Append(QuitChoice))
                    .ShowAsync(console, cancellationToken).ConfigureAwait(false);
                if (choice == QuitChoice)
                {
                    return 0;
                }
                await Screens.First(s => s.Title == choice).RunAsync(console, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
    }
}
