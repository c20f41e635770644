using Ccflare;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Hosting;
using Ccflare.OAuth;
using Ccflare.Providers;
using Ccflare.Proxy;
using Ccflare.Recording;
using Ccflare.Security;
using Ccflare.Storage;
using Ccflare.Strategies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Ccflare.</summary>
public static class CcflareServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Ccflare gateway. Options bind from the <c>Ccflare</c> configuration section,
    /// then <paramref name="configure"/> runs; they are validated at start-up. Without a
    /// <c>Use...Storage</c> call, history lives in memory.
    /// </summary>
    public static ICcflareBuilder AddCcflare(this IServiceCollection services, Action<CcflareOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var optionsBuilder = services.AddOptions<CcflareOptions>().BindConfiguration(CcflareOptions.SectionName);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }
        optionsBuilder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CcflareOptions>, CcflareOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<CcflareMetrics>();
        services.TryAddSingleton<ICcflareStore, InMemoryStore>();

        // Secrets at rest: AccountStore, the account persistence, encrypts on the way into whichever
        // ICcflareStore is registered (storage packages replace that registration).
        services.AddDataProtection();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KeyManagementOptions>, CcflareKeyManagementSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<DataProtectionOptions>, CcflareDataProtectionSetup>());
        services.TryAddSingleton<SecretProtector>();
        services.TryAddSingleton<AccountStore>();

        services.TryAddSingleton<RuntimeSettings>();
        services.TryAddSingleton<AccountStatePersister>();
        services.TryAddSingleton<AccountRegistry>();
        services.TryAddSingleton<AccountService>();
        services.TryAddSingleton<IAccountCredentials, RefreshingAccountCredentials>();
        services.TryAddSingleton<OAuthProviders>();
        services.TryAddSingleton<OAuthTokenClient>();
        services.TryAddSingleton<OAuthSignIn>();
        services.TryAddSingleton<TokenRefresher>();
        services.TryAddSingleton<TokenRefreshService>();
        services.TryAddSingleton<AccountReloader>();
        services.AddHttpClient(OAuthTokenClient.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(30));
        services.TryAddSingleton(sp => new Ccflare.Usage.Polling.UsagePollSchedule(
            TimeSpan.FromSeconds(Math.Max(1, sp.GetRequiredService<IOptions<CcflareOptions>>().Value.Usage.PollIntervalSeconds)),
            Random.Shared.NextDouble));
        services.TryAddSingleton<Ccflare.Usage.Polling.UsagePoller>();
        // Its own connections: usage polls never queue behind, or count against, the proxy's.
        services.AddHttpClient(Ccflare.Usage.Polling.UsagePoller.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(UpstreamClient.CreateHandler)
            .RemoveAllLoggers();
        services.TryAddSingleton<StrategySelector>();
        services.TryAddSingleton<NearLimitPolicy>();
        services.TryAddSingleton<CandidateOrdering>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingStrategy, SessionStrategy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingStrategy, RoundRobinStrategy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingStrategy, LeastRequestsStrategy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingStrategy, WeightedStrategy>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingStrategy, ResetAwareStrategy>());

        services.TryAddSingleton<Ccflare.Recording.Journal.HistoryJournal>();
        services.TryAddSingleton<RequestRecorder>();
        services.TryAddSingleton<RequestWriter>();
        services.TryAddSingleton<ProviderRegistry>();
        services.TryAddSingleton<UpstreamForwarder>();
        services.TryAddSingleton<AccountFeedbackPolicy>();
        services.TryAddSingleton<ResponseBodyCopier>();
        services.TryAddSingleton<ProxyAttempt>();
        services.TryAddSingleton<FailoverLoop>();
        services.TryAddSingleton<ProxyHandler>();
        services.TryAddSingleton(sp => new HeaderPolicy(sp.GetRequiredService<IOptions<CcflareOptions>>().Value.Headers));
        services.TryAddSingleton<Ccflare.Security.AccessKeyService>();
        services.AddCors();
        services.TryAddSingleton<BrowserRequestSettings>();
        services.TryAddSingleton<BaseUrlGuard>();
        services.AddCcflareHistory();

        var upstream = services.AddHttpClient(UpstreamClient.Name, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(UpstreamClient.CreateHandler)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // Per-request logging scopes and start/stop messages cost more than the forwarding itself;
            // the proxy logs failures and the history records every request.
            .RemoveAllLoggers();
        UpstreamResilience.AddTo(upstream);

        // Order matters: the initializer runs first and the writers stop last, after the server drained.
        services.AddHostedService<CcflareInitializer>();
        services.AddHostedService<Ccflare.Security.AccessKeyLoader>();
        services.AddHostedService(sp => sp.GetRequiredService<AccountStatePersister>());
        services.AddHostedService(sp => sp.GetRequiredService<RequestWriter>());
        services.AddHostedService<RequestObserverDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<TokenRefreshService>());
        services.AddHostedService(sp => sp.GetRequiredService<AccountReloader>());
        services.AddHostedService(sp => sp.GetRequiredService<Ccflare.Usage.Polling.UsagePoller>());
        services.AddHostedService(sp => sp.GetRequiredService<Ccflare.Retention.RetentionService>());

        return new CcflareBuilder(services);
    }

    /// <summary>Keeps accounts and history in memory only (the default).</summary>
    public static ICcflareBuilder UseInMemoryStorage(this ICcflareBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<ICcflareStore, InMemoryStore>());
        return builder;
    }

    /// <summary>Uses <typeparamref name="TStore"/> as Ccflare's storage (a singleton).</summary>
    public static ICcflareBuilder UseStorage<TStore>(this ICcflareBuilder builder) where TStore : class, ICcflareStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<ICcflareStore, TStore>());
        return builder;
    }

    /// <summary>Adds an observer that receives every request record after it is stored (for audit logs, billing, ...).</summary>
    public static ICcflareBuilder AddRequestObserver<TObserver>(this ICcflareBuilder builder) where TObserver : class, ICcflareRequestObserver
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ICcflareRequestObserver, TObserver>());
        return builder;
    }

    /// <summary>
    /// Customises the <see cref="System.Net.Http.HttpClient"/> Ccflare uses to reach upstreams
    /// (an <see cref="IHttpClientFactory"/> named client): an outbound proxy or client certificate on
    /// the primary <see cref="System.Net.Http.SocketsHttpHandler"/>
    /// (<c>ConfigurePrimaryHttpMessageHandler((handler, services) =&gt; ...)</c>), extra delegating
    /// handlers, or extra resilience pipelines. Do not add retries: Ccflare's failover already
    /// retries on another account, and a retry layer here would send a request twice to one account.
    /// </summary>
    public static ICcflareBuilder ConfigureUpstreamClient(this ICcflareBuilder builder, Action<IHttpClientBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        configure(builder.Services.AddHttpClient(UpstreamClient.Name));
        return builder;
    }

    /// <summary>
    /// Adds a provider in code, exactly as <c>Ccflare:Providers:&lt;name&gt;</c> would in configuration:
    /// set <see cref="ProviderOptions.Family"/> and <see cref="ProviderOptions.BaseUrl"/> to define a new
    /// provider (its accounts use API keys; its native route is <c>/v1/&lt;name&gt;/…</c>), or change a
    /// built-in one. Runs after configuration binding, so values set here win; validated at start-up.
    /// </summary>
    public static ICcflareBuilder AddProvider(this ICcflareBuilder builder, string name, Action<ProviderOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure<CcflareOptions>(options =>
        {
            if (!options.Providers.TryGetValue(name, out var provider))
            {
                options.Providers[name] = provider = new ProviderOptions();
            }
            configure(provider);
        });
        return builder;
    }

    /// <summary>
    /// Adds a load-balancing strategy; it appears in <c>GET /api/strategies</c> and can be
    /// selected with <c>lb_strategy</c> or <c>POST /api/config/strategy</c>. A strategy with a
    /// built-in's name replaces it.
    /// </summary>
    public static ICcflareBuilder AddStrategy<TStrategy>(this ICcflareBuilder builder) where TStrategy : class, ILoadBalancingStrategy
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoadBalancingStrategy, TStrategy>());
        return builder;
    }
}
