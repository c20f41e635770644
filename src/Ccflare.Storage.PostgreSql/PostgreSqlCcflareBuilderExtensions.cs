using Ccflare;
using Ccflare.Storage.PostgreSql;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
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
        builder.Services.TryAddSingleton(sp => new PostgreSqlStore(
            sp.GetRequiredService<IOptions<PostgreSqlStorageOptions>>().Value, sp.GetService<ILoggerFactory>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<ICcflareStore>(sp => sp.GetRequiredService<PostgreSqlStore>()));
        // Registered after AddCcflare's own key-ring setup, so these run later and win.
        builder.Services.AddSingleton<IConfigureOptions<KeyManagementOptions>, PostgreSqlKeyRingSetup>();
        builder.Services.AddSingleton<IConfigureOptions<DataProtectionOptions>, PostgreSqlApplicationNameSetup>();
        builder.Services.AddHostedService<PostgreSqlKeyRingInitializer>();
        return builder;
    }
}

/// <summary>Keeps the Data Protection key ring in the database when <see cref="PostgreSqlStorageOptions.StoreDataProtectionKeys"/> is on.</summary>
internal sealed class PostgreSqlKeyRingSetup(IOptions<PostgreSqlStorageOptions> options, IServiceProvider services) : IConfigureOptions<KeyManagementOptions>
{
    public void Configure(KeyManagementOptions keyOptions)
    {
        if (options.Value.StoreDataProtectionKeys)
        {
            keyOptions.XmlRepository = new PostgreSqlXmlRepository(services.GetRequiredService<PostgreSqlStore>());
        }
    }
}

/// <summary>
/// With the key ring in the database, fixes the Data Protection application name to Ccflare's (unless the
/// host chose one), so replicas installed in different directories still read each other's secrets.
/// </summary>
internal sealed class PostgreSqlApplicationNameSetup(IOptions<PostgreSqlStorageOptions> options, IServiceProvider services) : IConfigureOptions<DataProtectionOptions>
{
    public void Configure(DataProtectionOptions dataProtection)
    {
        var current = dataProtection.ApplicationDiscriminator;
        if (options.Value.StoreDataProtectionKeys && (current is null || current == services.GetApplicationUniqueIdentifier()))
        {
            dataProtection.ApplicationDiscriminator = "Ccflare";
        }
    }
}
