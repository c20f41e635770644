using Ccflare;
using Ccflare.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite store.</summary>
public static class SqliteCcflareBuilderExtensions
{
    /// <summary>Keeps accounts, history, settings and users in the SQLite file <paramref name="databasePath"/> (WAL mode).</summary>
    public static ICcflareBuilder UseSqliteStorage(this ICcflareBuilder builder, string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        return builder.UseSqliteStorage(options => options.DatabasePath = databasePath);
    }

    /// <summary>Keeps accounts, history, settings and users in a SQLite file configured by <paramref name="configure"/>.</summary>
    public static ICcflareBuilder UseSqliteStorage(this ICcflareBuilder builder, Action<SqliteStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<SqliteStorageOptions>().Configure(configure);
        // The history journal lives beside the database unless the host put it elsewhere.
        builder.Services.AddOptions<CcflareOptions>().PostConfigure<IOptions<SqliteStorageOptions>>((ccflare, storage) =>
            ccflare.HistoryJournalDirectory ??= Path.GetDirectoryName(Path.GetFullPath(storage.Value.DatabasePath)));
        builder.Services.Replace(ServiceDescriptor.Singleton<ICcflareStore>(
            sp => new SqliteStore(sp.GetRequiredService<IOptions<SqliteStorageOptions>>().Value)));
        return builder;
    }
}
