using System.Globalization;
using System.Text;

namespace Ccflare.RoutingSimulation;

/// <summary>The results table, and its place in docs/strategies.md.</summary>
internal static class SimulationReport
{
    public const string Command = "dotnet run --project bench/Ccflare.RoutingSimulation";

    private const string Start = "<!-- routing simulation results: written by bench/Ccflare.RoutingSimulation -->";
    private const string End = "<!-- end of routing simulation results -->";

    public static string Markdown(SimulationScenario scenario, long demand, int requests, IReadOnlyList<StrategyOutcome> outcomes)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"{scenario.Accounts} accounts, {scenario.WindowLength.TotalHours:0}-hour windows of {scenario.WindowCapacity / 1e6:0.#} M tokens each; "
            + $"{scenario.Sessions} sessions ({requests} requests, {demand / 1e6:0.#} M tokens: {(double)demand / scenario.WindowCapacity:0.0} windows' worth) "
            + $"arriving over {scenario.ArrivalSpan.TotalHours:0} hours from {scenario.DayStart:HH:mm} UTC; "
            + $"{scenario.RequestsPerSession.Min}–{scenario.RequestsPerSession.Max} requests per session of {scenario.TokensPerRequest.Min / 1000}k–{scenario.TokensPerRequest.Max / 1000}k tokens, "
            + $"{scenario.ThinkTime.Min.TotalSeconds:0} s – {scenario.ThinkTime.Max.TotalMinutes:0} min apart. Options are the defaults (switch at 0.95, 5-hour sessions) unless a row says otherwise.");
        sb.AppendLine();
        sb.AppendLine("| strategy and options | client-visible 429s | of them while capacity remained | 503 (all cooling down) | 429s hidden by failover | windows opened | capacity used | account switches per session (mean / max) |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var o in outcomes)
        {
            sb.AppendLine(c, $"| {o.Variant.Label} | {o.ClientRateLimited} | {o.ClientRateLimitedWithCapacityLeft} | {o.ClientRefused} | {o.UpstreamRejections} | {o.WindowsOpened} | {o.CapacityUsed * 100:0.0} % | {o.MeanSwitchesPerSession:0.00} / {o.MaxSwitchesPerSession} |");
        }
        sb.AppendLine();
        sb.AppendLine(c, $"Reproduce with `{Command}`.");
        return sb.ToString();
    }

    /// <summary>Replaces the results between the markers of <paramref name="page"/>; false when the markers are missing.</summary>
    public static async Task<bool> WriteIntoAsync(string page, string markdown)
    {
        var text = await File.ReadAllTextAsync(page);
        var start = text.IndexOf(Start, StringComparison.Ordinal);
        var end = text.IndexOf(End, StringComparison.Ordinal);
        if (start < 0 || end < start)
        {
            return false;
        }
        var updated = text[..(start + Start.Length)] + "\n" + markdown.TrimEnd() + "\n" + text[end..];
        await File.WriteAllTextAsync(page, updated);
        return true;
    }
}
