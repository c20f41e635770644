using Microsoft.Extensions.Options;

namespace Ccflare.Strategies;

/// <summary>Holds the strategy in force; it can be changed at runtime through the management API.</summary>
internal sealed class StrategySelector
{
    private readonly Dictionary<string, ILoadBalancingStrategy> _byName;
    private ILoadBalancingStrategy _current;

    public StrategySelector(IEnumerable<ILoadBalancingStrategy> strategies, IOptions<CcflareOptions> options)
    {
        _byName = new Dictionary<string, ILoadBalancingStrategy>(StringComparer.OrdinalIgnoreCase);
        var names = new List<string>();
        foreach (var strategy in strategies)
        {
            // Last registration of a name wins, so a host can replace a built-in.
            if (!_byName.ContainsKey(strategy.Name))
            {
                names.Add(strategy.Name);
            }
            _byName[strategy.Name] = strategy;
        }
        Names = names;
        _current = _byName.GetValueOrDefault(options.Value.LbStrategy) ?? _byName[SessionStrategy.StrategyName];
    }

    public IReadOnlyList<string> Names { get; }

    public ILoadBalancingStrategy Current => Volatile.Read(ref _current);

    public bool Contains(string name) => _byName.ContainsKey(name);

    public bool TrySelect(string name)
    {
        if (!_byName.TryGetValue(name, out var strategy))
        {
            return false;
        }
        Volatile.Write(ref _current, strategy);
        return true;
    }
}
