using LiteDB;

namespace Ccflare.Storage.LiteDb;

/// <summary>
/// Schema migrations, versioned in code: <see cref="LiteDatabase.UserVersion"/> holds the number of
/// the last step applied. Each step runs in one transaction; the version is bumped after it commits
/// (index creation is idempotent, so a step interrupted before the bump is simply run again).
/// </summary>
internal static class LiteDbSchema
{
    private static readonly Action<LiteDatabase>[] Migrations =
    [
        // 1: collections mirroring ccflare's tables, with the indexes the queries use.
        database =>
        {
            var accounts = database.GetCollection(LiteDbStore.Accounts);
            accounts.EnsureIndex("Name", "$.Name", unique: true);
            accounts.EnsureIndex("CreatedAt", "$.CreatedAt");

            var requests = database.GetCollection(LiteDbStore.Requests);
            requests.EnsureIndex("Timestamp", "$.Timestamp");
            requests.EnsureIndex("AccountUsed", "$.AccountUsed");
            requests.EnsureIndex("Model", "$.Model");
            requests.EnsureIndex("UserId", "$.UserId");

            database.GetCollection(LiteDbStore.Payloads).EnsureIndex("Timestamp", "$.Timestamp");
            database.GetCollection(LiteDbStore.AuthSessions).EnsureIndex("ExpiresAt", "$.ExpiresAt");

            var users = database.GetCollection(LiteDbStore.Users);
            users.EnsureIndex("Name", "$.Name", unique: true);
            users.EnsureIndex("AccessKeyHash", "$.AccessKeyHash", unique: true);
            users.EnsureIndex("CreatedAt", "$.CreatedAt");
        },
        // 2: session lookups by index.
        database => database.GetCollection(LiteDbStore.Requests).EnsureIndex("ClientSessionId", "$.ClientSessionId"),
    ];

    /// <summary>The version a fully migrated file has.</summary>
    internal static int LatestVersion => Migrations.Length;

    internal static void Migrate(LiteDatabase database)
    {
        var version = database.UserVersion;
        if (version > Migrations.Length)
        {
            throw new InvalidOperationException(
                $"The database has schema version {version}, newer than this Ccflare ({Migrations.Length}). Upgrade Ccflare.");
        }
        for (; version < Migrations.Length; version++)
        {
            database.BeginTrans();
            try
            {
                Migrations[version](database);
                database.Commit();
            }
            catch
            {
                database.Rollback();
                throw;
            }
            database.UserVersion = version + 1;
        }
    }
}
