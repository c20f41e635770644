using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui.Screens;

/// <summary>Analytics summaries from <c>/api/analytics?range=...</c>.</summary>
internal sealed class AnalyticsScreen(CcflareApiClient api, TimeProvider time) : TuiScreen(api, time)
{
    public static readonly string[] Ranges = ["1h", "6h", "24h", "7d", "30d"];

    public override string Title => "Analytics";

    public override Task RenderAsync(IAnsiConsole console, CancellationToken cancellationToken) => RenderAsync(console, "24h", cancellationToken);

    public override async Task RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var range = await new SelectionPrompt<string>()
            .Title("Time range:")
            .AddChoices(Ranges)
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);
        await RenderAsync(console, range, cancellationToken).ConfigureAwait(false);
    }

    private async Task RenderAsync(IAnsiConsole console, string range, CancellationToken cancellationToken)
    {
        Heading(console);
        var result = await Api.GetAnalyticsAsync(range, cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            ShowProblem(console, "Analytics", result);
            return;
        }
        var a = result.Value!;
        console.MarkupLine($"Range: [bold]{Markup.Escape(a.Meta?.Range ?? range)}[/]{(a.Meta?.Bucket is { } bucket ? $" (buckets of {Markup.Escape(bucket)})" : "")}");
        if (a.Totals is { } totals)
        {
            console.Write(StatsScreen.SummaryTable(totals));
        }
        if (a.TokenBreakdown is { } t)
        {
            var tokens = new Table().Border(TableBorder.Rounded).Title("Tokens").AddColumn("Input").AddColumn("Cache read").AddColumn("Cache write").AddColumn("Output");
            tokens.AddRow(TuiFormat.Number(t.InputTokens), TuiFormat.Number(t.CacheReadInputTokens), TuiFormat.Number(t.CacheCreationInputTokens), TuiFormat.Number(t.OutputTokens));
            console.Write(tokens);
        }
        if (a.CostByModel is { Count: > 0 } costs)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("Cost by model").AddColumn("Model").AddColumn(new TableColumn("Requests").RightAligned())
                .AddColumn(new TableColumn("Tokens").RightAligned()).AddColumn(new TableColumn("Cost").RightAligned());
            foreach (var c in costs)
            {
                table.AddRow(Markup.Escape(c.Model ?? "(unknown)"), TuiFormat.Number(c.Requests), TuiFormat.Number(c.TotalTokens), TuiFormat.Cost(c.CostUsd));
            }
            console.Write(table);
        }
        if (a.ModelPerformance is { Count: > 0 } performance)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("Model performance").AddColumn("Model").AddColumn(new TableColumn("Avg").RightAligned())
                .AddColumn(new TableColumn("p95").RightAligned()).AddColumn(new TableColumn("Errors").RightAligned()).AddColumn(new TableColumn("Speed").RightAligned());
            foreach (var p in performance)
            {
                table.AddRow(Markup.Escape(p.Model ?? "(unknown)"), TuiFormat.Ms(p.AvgResponseTime), TuiFormat.Ms(p.P95ResponseTime), TuiFormat.Percent(p.ErrorRate), TuiFormat.Rate(p.AvgTokensPerSecond));
            }
            console.Write(table);
        }
        if (a.AccountPerformance is { Count: > 0 } accounts)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("Accounts").AddColumn("Account").AddColumn(new TableColumn("Requests").RightAligned()).AddColumn(new TableColumn("Success").RightAligned());
            foreach (var p in accounts)
            {
                table.AddRow(Markup.Escape(p.Name ?? "(none)"), TuiFormat.Number(p.Requests), TuiFormat.Percent(p.SuccessRate));
            }
            console.Write(table);
        }
    }
}
