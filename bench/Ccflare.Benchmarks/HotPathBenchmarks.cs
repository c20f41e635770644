using System.Net;
using BenchmarkDotNet.Attributes;
using Ccflare;
using Ccflare.Accounts;
using Ccflare.Providers;
using Ccflare.Proxy;
using Ccflare.Storage;
using Ccflare.Strategies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ccflare.Benchmarks;

/// <summary>The per-request pieces of the proxy's hot path.</summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly List<AccountState> _candidates = new(8);
    private AccountRegistry _registry = null!;
    private ILoadBalancingStrategy _session = null!;
    private ILoadBalancingStrategy _roundRobin = null!;
    private ILoadBalancingStrategy _leastRequests = null!;
    private ILoadBalancingStrategy _weighted = null!;
    private DefaultHttpContext _httpContext = null!;
    private HttpResponseMessage _anthropicResponse = null!;
    private HttpResponseMessage _openAiResponse = null!;
    private static readonly ProviderRegistry Providers = new(new Dictionary<string, ProviderOptions>());
    private readonly UpstreamProvider _anthropic = Providers.Find("anthropic")!;
    private readonly UpstreamProvider _openai = Providers.Find("openai")!;

    [GlobalSetup]
    public void Setup()
    {
        var dataProtection = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.DataProtectionServiceCollectionExtensions.AddDataProtection(dataProtection);
        var protection = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(
            Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(dataProtection));
        var store = new AccountStore(new InMemoryStore(), new Ccflare.Security.SecretProtector(protection), NullLogger<AccountStore>.Instance);
        _registry = new AccountRegistry(new AccountStatePersister(store, TimeProvider.System, NullLogger<AccountStatePersister>.Instance));
        var accounts = new List<Account>();
        for (var i = 0; i < 4; i++)
        {
            accounts.Add(new Account { Id = $"id-{i}", Name = $"acc-{i}", Provider = "anthropic", ApiKey = "sk-ant-" + i, CreatedAt = Now.AddMinutes(i), Weight = i + 1, SessionStart = i == 2 ? Now.AddMinutes(-5) : null });
        }
        _registry.Load(accounts);
        _session = new SessionStrategy();
        _roundRobin = new RoundRobinStrategy();
        _leastRequests = new LeastRequestsStrategy();
        _weighted = new WeightedStrategy();

        _httpContext = new DefaultHttpContext();
        var headers = _httpContext.Request.Headers;
        headers["x-api-key"] = "client-key";
        headers["anthropic-version"] = "2023-06-01";
        headers["anthropic-beta"] = "prompt-caching-2024-07-31";
        headers["content-type"] = "application/json";
        headers["user-agent"] = "claude-cli/2.0.0";
        headers["accept"] = "application/json";
        headers["accept-encoding"] = "gzip";
        headers["connection"] = "keep-alive";

        _anthropicResponse = new HttpResponseMessage(HttpStatusCode.OK);
        _anthropicResponse.Headers.TryAddWithoutValidation("anthropic-ratelimit-unified-status", "allowed");
        _anthropicResponse.Headers.TryAddWithoutValidation("anthropic-ratelimit-unified-reset", "1795000000");
        _anthropicResponse.Headers.TryAddWithoutValidation("anthropic-ratelimit-unified-remaining", "120");
        _openAiResponse = new HttpResponseMessage(HttpStatusCode.OK);
        _openAiResponse.Headers.TryAddWithoutValidation("x-ratelimit-remaining-requests", "499");
        _openAiResponse.Headers.TryAddWithoutValidation("x-ratelimit-reset-requests", "6m0s");
    }

    private int Select(ILoadBalancingStrategy strategy)
    {
        _candidates.Clear();
        _registry.CollectAvailable("anthropic", Now, _candidates);
        strategy.Order(new LoadBalancingContext(_httpContext, "anthropic", Now, TimeSpan.FromHours(5)), _candidates);
        return _candidates.Count;
    }

    [Benchmark]
    public int SelectSession() => Select(_session);

    [Benchmark]
    public int SelectRoundRobin() => Select(_roundRobin);

    [Benchmark]
    public int SelectLeastRequests() => Select(_leastRequests);

    [Benchmark]
    public int SelectWeighted() => Select(_weighted);

    [Benchmark]
    public string? ValidatePath() => ProxyPath.Validate("/v1/messages/count_tokens");

    [Benchmark]
    public int RewriteHeaders()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1/v1/messages");
        HeaderRules.CopyRequestHeaders(_httpContext.Request.Headers, request, _anthropic);
        return request.Headers.NonValidated.Count;
    }

    [Benchmark]
    public bool ParseAnthropicRateLimit() => _anthropic.ReadAccountFeedback(200, _anthropicResponse.Headers, Now).RateLimit.HasData;

    [Benchmark]
    public bool ParseOpenAIRateLimit() => _openai.ReadAccountFeedback(200, _openAiResponse.Headers, Now).RateLimit.HasData;
}
