using Spectre.Console;
using Spectre.Console.Rendering;

namespace Ccflare.StandaloneServer.Tui.Screens;

/// <summary>
/// Live requests. Interactive: refreshes on every event of <c>/api/requests/stream</c> (SSE)
/// when the server has it, otherwise polls <c>/api/requests</c>; any key returns to the menu.
/// </summary>
internal sealed class RequestsScreen(CcflareApiClient api, TimeProvider time, TuiOptions options) : TuiScreen(api, time)
{
    public override string Title => "Requests";

    public override async Task RenderAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        Heading(console);
        console.Write(await BuildAsync("snapshot", cancellationToken).ConfigureAwait(false));
    }

    public override async Task RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            await RenderAsync(console, cancellationToken).ConfigureAwait(false);
            return;
        }
        Heading(console);
        console.MarkupLine("[grey]Live view: press any key to return to the menu.[/]");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var changed = 0;
        var stream = await Api.OpenRequestStreamAsync(stop.Token).ConfigureAwait(false);
        var reader = stream is null ? Task.CompletedTask : ReadEventsAsync(stream, () => Interlocked.Exchange(ref changed, 1), stop.Token);
        var source = stream is null
            ? $"polling every {TuiFormat.Duration(options.PollInterval)}"
            : "live stream (/api/requests/stream)";
        var interval = stream is null ? options.PollInterval : options.StreamRefreshInterval;
        try
        {
            var first = await BuildAsync(source, stop.Token).ConfigureAwait(false);
            await console.Live(first).StartAsync(async live =>
            {
                var last = Time.GetTimestamp();
                while (!stop.Token.IsCancellationRequested)
                {
                    if (console.Input.IsKeyAvailable())
                    {
                        console.Input.ReadKey(intercept: true);
                        break;
                    }
                    if (Interlocked.Exchange(ref changed, 0) == 1 || Time.GetElapsedTime(last) >= interval)
                    {
                        live.UpdateTarget(await BuildAsync(source, stop.Token).ConfigureAwait(false));
                        last = Time.GetTimestamp();
                    }
                    await Task.Delay(TimeSpan.FromMilliseconds(100), Time, stop.Token).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await reader.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A <c>summary</c> event means a row was written; the table is then re-read from <c>/api/requests</c>. The
    /// other events (<c>ingress</c>, <c>start</c>, <c>payload</c>) change nothing the table shows.
    /// </summary>
    private static async Task ReadEventsAsync(Stream stream, Action onEvent, CancellationToken cancellationToken)
    {
        using var lines = new StreamReader(stream);
        try
        {
            while (await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith("data:", StringComparison.Ordinal) && line.Contains("\"type\":\"summary\"", StringComparison.Ordinal))
                {
                    onEvent();
                }
            }
        }
        catch (IOException)
        {
            // The server went away; polling at the safety interval continues.
        }
    }

    private async Task<IRenderable> BuildAsync(string source, CancellationToken cancellationToken)
    {
        var result = await Api.GetRequestsAsync(options.RequestLimit, cancellationToken).ConfigureAwait(false);
        var footer = new Markup($"[grey]{Markup.Escape(source)} · updated {TuiFormat.Time(Time.GetUtcNow())} UTC[/]");
        if (!result.Ok)
        {
            var problem = result.NotAvailable
                ? "[yellow]Request history not available on this server (404).[/]"
                : $"[red]Could not load requests: {Markup.Escape(result.Error ?? "unknown error")}[/]";
            return new Rows(new Markup(problem), footer);
        }
        if (result.Value!.Count == 0)
        {
            return new Rows(new Markup("[grey]No requests yet.[/]"), footer);
        }
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Time").AddColumn("Method").AddColumn("Path").AddColumn("Account").AddColumn(new TableColumn("Status").RightAligned())
            .AddColumn("Model").AddColumn(new TableColumn("Tokens").RightAligned()).AddColumn(new TableColumn("Cost").RightAligned())
            .AddColumn(new TableColumn("Duration").RightAligned()).AddColumn("Error");
        foreach (var r in result.Value)
        {
            var statusColor = r.Success ? "green" : "red";
            var status = r.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-";
            var failover = r.FailoverAttempts > 0 ? $" [yellow](+{r.FailoverAttempts})[/]" : "";
            table.AddRow(
                TuiFormat.Time(r.Timestamp),
                Markup.Escape(r.Method ?? "-"),
                Markup.Escape(r.Path ?? "-"),
                Markup.Escape(r.AccountName ?? r.AccountUsed ?? "-"),
                $"[{statusColor}]{status}[/]{failover}",
                Markup.Escape(r.Model ?? "-"),
                TuiFormat.Number(r.TotalTokens),
                TuiFormat.Cost(r.CostUsd),
                TuiFormat.Ms(r.ResponseTimeMs),
                Markup.Escape(TuiFormat.Truncate(r.ErrorMessage, 60)));
        }
        return new Rows(table, footer);
    }
}
