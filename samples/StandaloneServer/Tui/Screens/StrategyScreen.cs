using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui.Screens;

/// <summary>Load-balancing strategy: <c>GET /api/strategies</c>, <c>POST /api/config/strategy</c>.</summary>
internal sealed class StrategyScreen(CcflareApiClient api, TimeProvider time) : TuiScreen(api, time)
{
    public const string Keep = "(keep current)";

    public override string Title => "Strategy";

    public override async Task RenderAsync(IAnsiConsole console, CancellationToken cancellationToken) =>
        await LoadAndRenderAsync(console, cancellationToken).ConfigureAwait(false);

    public override async Task RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var (current, names) = await LoadAndRenderAsync(console, cancellationToken).ConfigureAwait(false);
        if (names.Count == 0)
        {
            return;
        }
        var choice = await new SelectionPrompt<string>()
            .Title("Switch to which strategy?")
            .AddChoices(names.Append(Keep))
            .UseConverter(n => n == current ? Markup.Escape(n) + " (current)" : Markup.Escape(n))
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);
        if (choice == Keep || choice == current)
        {
            console.MarkupLine($"[grey]Strategy unchanged ({Markup.Escape(current ?? "-")}).[/]");
            return;
        }
        ShowOutcome(console, await Api.SetStrategyAsync(choice, cancellationToken).ConfigureAwait(false), $"Strategy set to '{choice}'");
    }

    private async Task<(string? Current, List<string> Names)> LoadAndRenderAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        Heading(console);
        var strategies = await Api.GetStrategiesAsync(cancellationToken).ConfigureAwait(false);
        if (!strategies.Ok)
        {
            ShowProblem(console, "Strategies", strategies);
            return (null, []);
        }
        var config = await Api.GetConfigAsync(cancellationToken).ConfigureAwait(false);
        var current = config.Value?.LbStrategy;
        console.MarkupLine($"Current strategy: [bold green]{Markup.Escape(current ?? "unknown")}[/]");
        if (config.Value?.SessionDurationMs is { } ms)
        {
            console.MarkupLine($"Session duration: {TuiFormat.Duration(TimeSpan.FromMilliseconds(ms))}");
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Available strategies").AddColumn("");
        foreach (var name in strategies.Value!)
        {
            table.AddRow(Markup.Escape(name), name == current ? "[green]current[/]" : "");
        }
        console.Write(table);
        return (current, strategies.Value!);
    }
}
