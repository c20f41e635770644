using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Ccflare.LoadBench;

internal static class Report
{
    public static string Markdown(List<Row> rows, List<(string Target, StreamResult Result, double PeakRss)> streams, bool quick, string root, int intervalMs, string storage, bool complete = true)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"Run {(quick ? "(smoke, --quick) " : "")}on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Machine()}, commit `{Commit(root)}`. ");
        sb.AppendLine(c, $"Ccflare: {storage}, request history, payload capture{(storage == "memory" ? "" : " and the history journal")} on. Added latency is over direct-to-upstream in the same run; CPU is the proxy process's user+system time per request (from `/proc/<pid>/stat`); \"vs YARP\" divides Ccflare's by YARP's in the same scenario.");
        if (quick)
        {
            sb.AppendLine("Smoke run: one-second runs after a short warm-up on one YARP and one Ccflare process shared by every scenario, so peak RSS is the peak so far and early rows include JIT work; not for comparison.");
        }
        sb.AppendLine();
        sb.AppendLine("| scenario | target | req/s | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms | CPU µs/req | CPU/request vs YARP | peak RSS MB | errors |");
        sb.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            sb.AppendLine(c, $"| {r.Scenario} | {r.Target} | {r.RequestsPerSecond:F0} | {r.P50:F2} | {r.P90:F2} | {r.P99:F2} | {Dash(r.Target == "direct" ? double.NaN : r.AddedP50, "F2")} | {Dash(r.Target == "direct" ? double.NaN : r.AddedP99, "F2")} | {Dash(r.CpuMicrosPerRequest, "F0")} | {CpuVsYarp(rows, r)} | {Dash(r.PeakRssMb, "F0")} | {r.Errors} |");
        }
        sb.AppendLine();
        foreach (var r in rows)
        {
            if (r.Note.Length > 0)
            {
                sb.AppendLine(c, $"- {r.Scenario}, {r.Target}: {r.Note}.");
            }
        }
        if (rows.Any(r => r.Note.Length > 0))
        {
            sb.AppendLine();
        }

        if (streams.Count == 0)
        {
            return sb.ToString();
        }
        var direct = streams.First(s => s.Target == "direct").Result;
        sb.AppendLine(c, $"Streams: {direct.Streams} concurrent SSE streams, events every {intervalMs} ms.");
        sb.AppendLine();
        sb.AppendLine("| target | errors | TTFB p50 ms | added TTFB p50 ms | event delay p50 ms | event delay p99 ms | added event delay p99 ms | peak RSS MB |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (target, result, rss) in streams)
        {
            var isDirect = target == "direct";
            sb.AppendLine(c, $"| {target} | {result.Errors} | {Stats.Percentile(result.TtfbMs, 50):F2} | {Dash(isDirect ? double.NaN : Stats.Percentile(result.TtfbMs, 50) - Stats.Percentile(direct.TtfbMs, 50), "F2")} | {Stats.Percentile(result.EventDelayMs, 50):F2} | {Stats.Percentile(result.EventDelayMs, 99):F2} | {Dash(isDirect ? double.NaN : Stats.Percentile(result.EventDelayMs, 99) - Stats.Percentile(direct.EventDelayMs, 99), "F2")} | {Dash(rss, "F0")} |");
        }
        sb.AppendLine();
        if (!complete)
        {
            return sb.ToString();
        }

        var saturationYarp = rows.First(r => r.Scenario.StartsWith("saturation", StringComparison.Ordinal) && r.Target == "YARP");
        var saturationCcflare = rows.First(r => r.Scenario.StartsWith("saturation", StringComparison.Ordinal) && r.Target == "Ccflare");
        var fixed500 = rows.First(r => r.Scenario.StartsWith("500", StringComparison.Ordinal) && r.Target == "Ccflare");
        var ccflareStreams = streams.First(s => s.Target == "Ccflare");
        sb.AppendLine("| target | goal | measured |");
        sb.AppendLine("| --- | --- | --- |");
        sb.AppendLine(c, $"| CPU per request vs YARP (saturation{(storage == "memory" ? "" : ", journal on")}) | ≤ 1.25× | {saturationCcflare.CpuMicrosPerRequest / saturationYarp.CpuMicrosPerRequest:F2}× |");
        sb.AppendLine(c, $"| saturation throughput vs YARP | ≥ 70 % | {saturationCcflare.RequestsPerSecond / saturationYarp.RequestsPerSecond * 100:F0} % |");
        sb.AppendLine(c, $"| added latency at 500 req/s | p50 ≤ 0.3 ms, p99 ≤ 1 ms | p50 {fixed500.AddedP50:F2} ms, p99 {fixed500.AddedP99:F2} ms |");
        sb.AppendLine(c, $"| streams | 0 errors, added event delay p99 ≤ 2 ms, RSS ≤ 300 MB | {ccflareStreams.Result.Errors} errors, {Stats.Percentile(ccflareStreams.Result.EventDelayMs, 99) - Stats.Percentile(direct.EventDelayMs, 99):F2} ms, {ccflareStreams.PeakRss:F0} MB |");
        return sb.ToString();
    }

    private const string Start = "<!-- load benchmark results: written by bench/Ccflare.LoadBench -->";
    private const string End = "<!-- end of load benchmark results -->";

    /// <summary>Replaces the results between the markers of the performance page with <paramref name="markdown"/>.</summary>
    public static async Task IncludeInPerformancePageAsync(string page, string markdown)
    {
        var text = await File.ReadAllTextAsync(page);
        var start = text.IndexOf(Start, StringComparison.Ordinal);
        var end = text.IndexOf(End, StringComparison.Ordinal);
        if (start < 0 || end < start)
        {
            Console.Error.WriteLine($"warning: {page} has no results markers; the table is only in docs/benchmarks/results.md.");
            return;
        }
        var updated = text[..(start + Start.Length)] + "\n" + markdown.TrimEnd() + "\n" + text[end..];
        await File.WriteAllTextAsync(page, updated);
        Console.WriteLine($"Updated {page}.");
    }

    /// <summary>Ccflare's CPU per request over YARP's in the same scenario; a dash where there is no YARP run.</summary>
    private static string CpuVsYarp(List<Row> rows, Row row)
    {
        if (row.Target != "Ccflare")
        {
            return "–";
        }
        var yarp = rows.FirstOrDefault(r => r.Scenario == row.Scenario && r.Target == "YARP");
        return yarp is null ? "–" : (row.CpuMicrosPerRequest / yarp.CpuMicrosPerRequest).ToString("F2", CultureInfo.InvariantCulture) + "×";
    }

    private static string Dash(double value, string format) =>
        double.IsNaN(value) ? "–" : value.ToString(format, CultureInfo.InvariantCulture);

    private static string Machine()
    {
        var model = "unknown CPU";
        try
        {
            model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? model;
        }
        catch (IOException)
        {
        }
        return $"{Environment.ProcessorCount} cores ({model}), .NET {Environment.Version}";
    }

    private static string Commit(string root)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", ["-C", root, "rev-parse", "--short", "HEAD"]) { RedirectStandardOutput = true })!;
            var text = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return text.Length > 0 ? text : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
