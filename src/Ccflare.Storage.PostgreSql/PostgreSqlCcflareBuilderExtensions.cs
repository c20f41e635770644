using Ccflare;
using Ccflare.Storage.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the PostgreSQL store.</summary>
public static class PostgreSqlCcflareBuilderExtensions
{
    /// <summary>
    /// Keeps accounts, history, settings and users in the PostgreSQL database of <paramref name="connectionString"/>
    /// (an Npgsql connection string). Several Ccflare replicas can share it.
    /// </summary>
    public static ICcflareBuilder UsePostgreSqlStorage(this ICcflareBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UsePostgreSqlStorage(options => options.ConnectionString = connectionString);
    }

    /// <summary>Keeps accounts, history, settings and users in a PostgreSQL database configured by <paramref name="configure"/>.</summary>
    public static ICcflareBuilder UsePostgreSqlStorage(this ICcflareBuilder builder, Action<PostgreSqlStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<PostgreSqlStorageOptions>().Configure(configure);
        builder.Services.Replace(ServiceDescriptor.Singleton<ICcflareStore>(sp => new PostgreSqlStore(
            sp.GetRequiredService<IOptions<PostgreSqlStorageOptions>>().Value, sp.GetService<ILoggerFactory>())));
        return builder;
    }
}
