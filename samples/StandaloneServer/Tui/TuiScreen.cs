using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui;

/// <summary>
/// One screen of the terminal UI. <see cref="RenderAsync"/> draws a snapshot (used when the
/// terminal is not interactive); <see cref="RunAsync"/> adds the screen's prompts and actions.
/// </summary>
internal abstract class TuiScreen(CcflareApiClient api, TimeProvider time)
{
    protected CcflareApiClient Api { get; } = api;

    protected TimeProvider Time { get; } = time;

    /// <summary>The menu entry and heading.</summary>
    public abstract string Title { get; }

    /// <summary>Fetches and draws the screen once.</summary>
    public abstract Task RenderAsync(IAnsiConsole console, CancellationToken cancellationToken);

    /// <summary>The interactive version: by default the snapshot.</summary>
    public virtual Task RunAsync(IAnsiConsole console, CancellationToken cancellationToken) => RenderAsync(console, cancellationToken);

    protected void Heading(IAnsiConsole console) => console.Write(new Rule($"[bold deepskyblue1]{Markup.Escape(Title)}[/]").LeftJustified());

    /// <summary>Reports a failed call: a clear "not available" for a 404, otherwise the server's error.</summary>
    protected static void ShowProblem<T>(IAnsiConsole console, string what, ApiResult<T> result)
    {
        if (result.NotAvailable)
        {
            console.MarkupLine($"[yellow]{Markup.Escape(what)} not available on this server (404).[/]");
            return;
        }
        console.MarkupLine($"[red]Could not load {Markup.Escape(what.ToLowerInvariant())}: {Markup.Escape(result.Error ?? "unknown error")}[/]");
    }

    protected static void ShowOutcome(IAnsiConsole console, ApiResult<MutationResult> result, string fallback)
    {
        if (result.Ok)
        {
            console.MarkupLine($"[green]{Markup.Escape(result.Value!.Message ?? fallback)}[/]");
        }
        else
        {
            console.MarkupLine($"[red]Failed: {Markup.Escape(result.Error ?? "unknown error")}[/]");
        }
    }
}

/// <summary>Formatting shared by the screens.</summary>
internal static class TuiFormat
{
    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Number(long? value) => value is { } v ? Number(v) : "-";

    public static string Ms(double? value) => value is { } v ? v.ToString("0", CultureInfo.InvariantCulture) + " ms" : "-";

    public static string Cost(decimal? value) => value is { } v ? "$" + v.ToString("0.0000", CultureInfo.InvariantCulture) : "-";

    public static string Percent(double value) => value.ToString("0.#", CultureInfo.InvariantCulture) + "%";

    public static string Rate(double? value) => value is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) + " tok/s" : "-";

    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = span.Negate();
        }
        if (span.TotalSeconds < 60)
        {
            return ((int)span.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
        }
        if (span.TotalMinutes < 60)
        {
            return FormattableString.Invariant($"{(int)span.TotalMinutes}m {span.Seconds}s");
        }
        if (span.TotalHours < 48)
        {
            return FormattableString.Invariant($"{(int)span.TotalHours}h {span.Minutes}m");
        }
        return FormattableString.Invariant($"{(int)span.TotalDays}d {span.Hours}h");
    }

    public static string Ago(DateTimeOffset? when, DateTimeOffset now) => when is { } w ? Duration(now - w) + " ago" : "never";

    public static string In(DateTimeOffset? when, DateTimeOffset now) => when is { } w ? (w > now ? "in " + Duration(w - now) : "passed") : "-";

    public static string Time(DateTimeOffset when) => when.ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>ISO text or Unix milliseconds, as logs may carry either.</summary>
    public static string Time(JsonElement when) => when.ValueKind switch
    {
        JsonValueKind.Number when when.TryGetInt64(out var ms) => Time(DateTimeOffset.FromUnixTimeMilliseconds(ms)),
        JsonValueKind.String when DateTimeOffset.TryParse(when.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) => Time(parsed),
        JsonValueKind.String => when.GetString() ?? "",
        _ => "",
    };

    public static string Truncate(string? text, int max) =>
        text is null ? "" : text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");
}
