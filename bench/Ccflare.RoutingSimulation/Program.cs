using Ccflare.RoutingSimulation;

// Runs the simulated day through each strategy and writes the table into docs/strategies.md.
// Options: --no-docs (print only), --docs PATH (another page).
var scenario = SimulationScenario.Day;
var sessions = scenario.GenerateSessions();
var requests = sessions.Sum(s => s.Requests.Count);
var outcomes = new List<StrategyOutcome>();
foreach (var variant in RoutingSimulator.Variants)
{
    var outcome = await RoutingSimulator.RunAsync(scenario, variant);
    Console.WriteLine($"{variant.Label}: {outcome.Requests} requests, {outcome.ClientRateLimited} client 429s, {outcome.CapacityUsed:P1} of opened capacity used");
    outcomes.Add(outcome);
}
var markdown = SimulationReport.Markdown(scenario, scenario.Demand(sessions), requests, outcomes);
Console.WriteLine();
Console.WriteLine(markdown);

if (args.Contains("--no-docs"))
{
    return 0;
}
var docsIndex = Array.IndexOf(args, "--docs");
var page = docsIndex >= 0 && docsIndex + 1 < args.Length ? args[docsIndex + 1] : FindStrategiesPage();
if (page is null || !await SimulationReport.WriteIntoAsync(page, markdown))
{
    Console.Error.WriteLine($"docs/strategies.md with the results markers was not found ({page ?? "no repository root above the working directory"}); the table is printed above.");
    return 1;
}
Console.WriteLine($"Updated {page}.");
return 0;

static string? FindStrategiesPage()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
    {
        var candidate = Path.Combine(dir.FullName, "docs", "strategies.md");
        if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Ccflare.sln")))
        {
            return candidate;
        }
    }
    return null;
}
