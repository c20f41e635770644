using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui.Screens;

/// <summary>Server status: <c>/health</c> and <c>/api/config</c>.</summary>
internal sealed class ServerScreen(CcflareApiClient api, TimeProvider time) : TuiScreen(api, time)
{
    public override string Title => "Server";

    public override async Task RenderAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        Heading(console);
        var health = await Api.GetHealthAsync(cancellationToken).ConfigureAwait(false);
        if (!health.Ok)
        {
            ShowProblem(console, "Health", health);
            return;
        }
        var config = await Api.GetConfigAsync(cancellationToken).ConfigureAwait(false);

        var h = health.Value!;
        var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("Field").AddColumn("Value");
        table.AddRow("URL", Markup.Escape(Api.BaseAddress.ToString()));
        var statusColor = h.Status == "ok" ? "green" : "red";
        table.AddRow("Status", $"[{statusColor}]{Markup.Escape(h.Status ?? "unknown")}[/]");
        table.AddRow("Accounts", h.Accounts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("Strategy", Markup.Escape(config.Value?.LbStrategy ?? h.Strategy ?? "-"));
        table.AddRow("Providers", Markup.Escape(string.Join(", ", h.Providers ?? [])));
        if (config.Ok)
        {
            var c = config.Value!;
            table.AddRow("Port", c.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-");
            table.AddRow("Session duration", c.SessionDurationMs is { } ms ? TuiFormat.Duration(TimeSpan.FromMilliseconds(ms)) : "-");
        }
        if (h.Timestamp is { } ts)
        {
            table.AddRow("Server time (UTC)", ts.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        }
        console.Write(table);
        if (!config.Ok)
        {
            ShowProblem(console, "Configuration", config);
        }
    }
}
