using Ccflare.Logging;
using Ccflare.Pricing;
using Ccflare.Recording;
using Ccflare.Retention;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Ccflare.Recording;

/// <summary>Services of request history, usage and cost, live events, logs and retention (called by <c>AddCcflare</c>).</summary>
internal static class HistoryServiceCollectionExtensions
{
    public static IServiceCollection AddCcflareHistory(this IServiceCollection services)
    {
        services.TryAddSingleton<PriceTable>();
        services.TryAddSingleton<RequestEvents>();
        services.TryAddSingleton<RetentionSettings>();
        services.TryAddSingleton<RetentionService>();
        services.TryAddSingleton(sp => new LogBuffer(sp.GetRequiredService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, LogBufferProvider>());
        return services;
    }
}
