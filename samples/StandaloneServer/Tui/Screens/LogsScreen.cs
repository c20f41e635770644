using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui.Screens;

/// <summary>Recent log entries from <c>/api/logs/history</c>.</summary>
internal sealed class LogsScreen(CcflareApiClient api, TimeProvider time, TuiOptions options) : TuiScreen(api, time)
{
    public override string Title => "Logs";

    public override async Task RenderAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        Heading(console);
        var result = await Api.GetLogsAsync(cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            ShowProblem(console, "Logs", result);
            return;
        }
        var entries = result.Value!;
        if (entries.Count == 0)
        {
            console.MarkupLine("[grey]No log entries.[/]");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Time").AddColumn("Level").AddColumn("Component").AddColumn("Message");
        foreach (var e in entries.Skip(Math.Max(0, entries.Count - options.LogLimit)))
        {
            var level = e.Level ?? "-";
            var color = level.ToUpperInvariant() switch
            {
                "ERROR" or "CRITICAL" or "FATAL" => "red",
                "WARN" or "WARNING" => "yellow",
                "DEBUG" or "TRACE" => "grey",
                _ => "default",
            };
            table.AddRow(TuiFormat.Time(e.Ts), $"[{color}]{Markup.Escape(level)}[/]", Markup.Escape(e.Component ?? ""), Markup.Escape(e.Msg ?? ""));
        }
        console.Write(table);
    }
}
