using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui.Screens;

/// <summary>Overall statistics from <c>/api/stats</c>.</summary>
internal sealed class StatsScreen(CcflareApiClient api, TimeProvider time) : TuiScreen(api, time)
{
    public override string Title => "Stats";

    public override async Task RenderAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        Heading(console);
        var result = await Api.GetStatsAsync(cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            ShowProblem(console, "Statistics", result);
            return;
        }
        var s = result.Value!;
        console.Write(SummaryTable(s));
        if (s.TopModels is { Count: > 0 } models)
        {
            var chart = new BarChart().Label("[bold]Top models[/]").Width(60);
            foreach (var m in models)
            {
                chart.AddItem(Markup.Escape(m.Model ?? "(unknown)"), m.Count, Color.DeepSkyBlue1);
            }
            console.Write(chart);
        }
    }

    internal static Table SummaryTable(StatsInfo s)
    {
        var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("Metric").AddColumn(new TableColumn("Value").RightAligned());
        table.AddRow("Total requests", TuiFormat.Number(s.TotalRequests));
        table.AddRow("Success rate", TuiFormat.Percent(s.SuccessRate));
        table.AddRow("Active accounts", s.ActiveAccounts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("Avg response time", TuiFormat.Ms(s.AvgResponseTime));
        table.AddRow("Total tokens", TuiFormat.Number(s.TotalTokens));
        table.AddRow("Total cost", TuiFormat.Cost(s.TotalCostUsd));
        table.AddRow("Avg output speed", TuiFormat.Rate(s.AvgTokensPerSecond));
        return table;
    }
}
