namespace Ccflare.Storage.PostgreSql.Tests;

/// <summary>
/// Tests that assert "within a second" run alone, after the parallel ones, so the contract tests'
/// load in this process does not count against the replicas' propagation time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "timing-sensitive";
}
