using Ccflare.RoutingSimulation;

namespace Ccflare.Tests.Strategies;

/// <summary>
/// A short simulated morning (the benchmark's day, scaled down) through the real proxy on a fake clock:
/// the strategies that keep sessions never let a client see a 429 while some account still has room.
/// </summary>
public sealed class RoutingSimulationTests
{
    private static readonly SimulationScenario Scenario = SimulationScenario.Morning;

    [Theory]
    [InlineData("session")]
    [InlineData("reset-aware")]
    public async Task Sessions_strategies_answer_every_request_without_a_client_visible_429(string strategy)
    {
        var sessions = Scenario.GenerateSessions();
        var demand = Scenario.Demand(sessions);
        Assert.True(demand > Scenario.WindowCapacity, "the morning must need more than one account's window");
        Assert.True(demand < Scenario.Accounts * Scenario.WindowCapacity, "the morning must fit in the three accounts' windows");

        var outcome = await RoutingSimulator.RunAsync(Scenario, new SimulationVariant(strategy));

        Assert.Equal(sessions.Sum(s => s.Requests.Count), outcome.Requests);
        Assert.Equal(0, outcome.ClientRateLimitedWithCapacityLeft);
        Assert.Equal(0, outcome.ClientRateLimited);
        Assert.Equal(0, outcome.ClientRefused);
        Assert.Equal(0, outcome.UpstreamRejections);
        Assert.Equal(demand, outcome.TokensServed);
        Assert.True(outcome.WindowsOpened >= 2, $"more than one account must have served ({outcome.WindowsOpened} windows opened)");
        Assert.True(outcome.MaxSwitchesPerSession <= 2, $"a session moves only when its account nears its limit (max {outcome.MaxSwitchesPerSession})");
    }

    [Fact]
    public async Task Without_the_switch_before_the_limit_the_accounts_answer_429s_that_failover_hides()
    {
        var outcome = await RoutingSimulator.RunAsync(Scenario, new SimulationVariant("session", SwitchAtUtilization: 1));

        Assert.True(outcome.UpstreamRejections > 0);
        Assert.Equal(0, outcome.ClientRateLimitedWithCapacityLeft);
    }

    [Fact]
    public async Task Round_robin_switches_accounts_within_sessions_and_the_run_is_repeatable()
    {
        var first = await RoutingSimulator.RunAsync(Scenario, new SimulationVariant("round-robin"));
        var second = await RoutingSimulator.RunAsync(Scenario, new SimulationVariant("round-robin"));

        Assert.True(first.MeanSwitchesPerSession > 1, $"mean switches {first.MeanSwitchesPerSession}");
        Assert.Equal(first.SwitchesPerSession, second.SwitchesPerSession);
        Assert.Equal(first.TokensServed, second.TokensServed);
        Assert.Equal(first.WindowsOpened, second.WindowsOpened);
    }
}
