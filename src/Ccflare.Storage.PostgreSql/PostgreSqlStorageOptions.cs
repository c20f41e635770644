namespace Ccflare.Storage.PostgreSql;

/// <summary>Options of the PostgreSQL store (<c>UsePostgreSqlStorage</c>).</summary>
public sealed class PostgreSqlStorageOptions
{
    /// <summary>
    /// Npgsql connection string, for example
    /// <c>Host=db.internal;Database=ccflare;Username=ccflare;Password=...</c>. Required.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// Schema holding Ccflare's tables; created when missing. Lower-case letters, digits and
    /// underscores. Several Ccflare deployments can share one database with different schemas.
    /// Defaults to <c>public</c>.
    /// </summary>
    public string Schema { get; set; } = "public";

    /// <summary>
    /// Listen for changes made by other replicas (<c>LISTEN/NOTIFY</c>) so they take effect within
    /// a second. On by default; turn it off behind a pooler in transaction mode (PgBouncer), where
    /// <c>LISTEN</c> does not work; the periodic reload then remains.
    /// </summary>
    public bool ListenForChanges { get; set; } = true;

    /// <summary>
    /// Keep the ASP.NET Core Data Protection key ring (which encrypts account secrets at rest) in the
    /// database too, so every replica can decrypt what another stored. On by default; turn it off when
    /// the host configures its own key repository (for example <c>PersistKeysToFileSystem</c> on a
    /// shared volume) and shares it between replicas itself.
    /// </summary>
    public bool StoreDataProtectionKeys { get; set; } = true;

    /// <summary>Rows deleted per statement (and transaction) by retention, so deletes never hold long locks. 10,000 by default.</summary>
    public int RetentionBatchSize { get; set; } = 10_000;
}
