using Ccflare;
using Ccflare.Storage.LiteDb;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the LiteDB store.</summary>
public static class LiteDbCcflareBuilderExtensions
{
    /// <summary>Keeps accounts, history, settings and users in the LiteDB file <paramref name="databasePath"/>.</summary>
    public static ICcflareBuilder UseLiteDbStorage(this ICcflareBuilder builder, string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        return builder.UseLiteDbStorage(options => options.DatabasePath = databasePath);
    }

    /// <summary>Keeps accounts, history, settings and users in a LiteDB file configured by <paramref name="configure"/>.</summary>
    public static ICcflareBuilder UseLiteDbStorage(this ICcflareBuilder builder, Action<LiteDbStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<LiteDbStorageOptions>().Configure(configure);
        // The history journal lives beside the database unless the host put it elsewhere.
        builder.Services.AddOptions<CcflareOptions>().PostConfigure<IOptions<LiteDbStorageOptions>>((ccflare, storage) =>
            ccflare.HistoryJournalDirectory ??= Path.GetDirectoryName(Path.GetFullPath(storage.Value.DatabasePath)));
        builder.Services.Replace(ServiceDescriptor.Singleton<ICcflareStore>(
            sp => new LiteDbStore(sp.GetRequiredService<IOptions<LiteDbStorageOptions>>().Value)));
        return builder;
    }
}
