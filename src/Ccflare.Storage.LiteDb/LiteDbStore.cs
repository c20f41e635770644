using System.Globalization;
using System.Runtime.CompilerServices;
using LiteDB;

namespace Ccflare.Storage.LiteDb;

/// <summary>
/// <see cref="ICcflareStore"/> on a LiteDB file, opened in direct (exclusive, single-process) mode.
/// </summary>
/// <remarks>
/// Documents are mapped by hand to <see cref="BsonDocument"/> (see <see cref="LiteDbDocuments"/>), so the
/// public records carry no LiteDB attributes. LiteDB binds a transaction to the calling thread, so
/// every operation runs synchronously under one lock: callers never share a transaction and a batch
/// is one <c>BeginTrans</c>/<c>Commit</c> on one thread.
/// </remarks>
internal sealed class LiteDbStore : ICcflareStore, IDisposable, IAsyncDisposable
{
    internal const string Accounts = "accounts";
    internal const string Requests = "requests";
    internal const string Payloads = "request_payloads";
    internal const string Settings = "settings";
    internal const string AuthSessions = "auth_sessions";
    internal const string Users = "users";

    private const int QueryPageSize = 1000;

    private readonly Lock _gate = new();
    private readonly string _databasePath;
    private LiteDbFile? _file;
    private bool _disposed;

    public LiteDbStore(LiteDbStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DatabasePath))
        {
            throw new ArgumentException("LiteDbStorageOptions.DatabasePath must be set.", nameof(options));
        }
        _databasePath = Path.GetFullPath(options.DatabasePath);
    }

    /// <summary>Full path of the database file.</summary>
    internal string DatabasePath => _databasePath;

    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _ = Database();
        }
        return Task.CompletedTask;
    }

    /// <summary>Opens the file on first use and applies pending migrations. Call under <see cref="_gate"/>.</summary>
    private LiteDatabase Database()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_file is not null)
        {
            return _file.Database;
        }
        var file = LiteDbFile.Open(_databasePath, createDirectory: true);
        try
        {
            LiteDbSchema.Migrate(file.Database);
        }
        catch
        {
            file.Dispose();
            throw;
        }
        _file = file;
        return file.Database;
    }

    // Accounts

    public Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken) =>
        Task.FromResult(AllByCreation(Accounts, LiteDbDocuments.ToAccount));

    public Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        lock (_gate)
        {
            var accounts = Database().GetCollection(Accounts);
            if (accounts.FindById(account.Id) is not null || accounts.Exists(Query.EQ("Name", account.Name)))
            {
                return Task.FromResult(false);
            }
            accounts.Insert(LiteDbDocuments.FromAccount(account));
            return Task.FromResult(true);
        }
    }

    public Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        lock (_gate)
        {
            var accounts = Database().GetCollection(Accounts);
            if (accounts.FindById(account.Id) is null
                || accounts.Exists(Query.And(Query.EQ("Name", account.Name), Query.Not("_id", account.Id))))
            {
                return Task.FromResult(false);
            }
            return Task.FromResult(accounts.Update(LiteDbDocuments.FromAccount(account)));
        }
    }

    public Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Database().GetCollection(Accounts).Delete(id));
        }
    }

    // Request history

    public Task WriteRequestsAsync(IReadOnlyList<RequestRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return Task.CompletedTask;
        }
        var requestDocuments = new List<BsonDocument>(records.Count);
        var payloadDocuments = new List<BsonDocument>(records.Count);
        var withoutPayload = new BsonArray();
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            requestDocuments.Add(LiteDbDocuments.FromRequest(record));
            if (record.Payload is { } payload)
            {
                payloadDocuments.Add(LiteDbDocuments.FromPayload(record.Id, record.Timestamp, payload));
            }
            else
            {
                withoutPayload.Add(record.Id);
            }
        }
        lock (_gate)
        {
            var database = Database();
            database.BeginTrans();
            try
            {
                database.GetCollection(Requests).Upsert(requestDocuments);
                var payloads = database.GetCollection(Payloads);
                if (payloadDocuments.Count > 0)
                {
                    payloads.Upsert(payloadDocuments);
                }
                if (withoutPayload.Count > 0)
                {
                    // A rewritten record without a payload replaces the old one entirely.
                    payloads.DeleteMany(Query.In("_id", withoutPayload));
                }
                database.Commit();
            }
            catch
            {
                database.Rollback();
                throw;
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken)
    {
        if (limit <= 0)
        {
            return Task.FromResult<IReadOnlyList<RequestRecord>>([]);
        }
        lock (_gate)
        {
            var database = Database();
            var documents = database.GetCollection(Requests).Query().OrderByDescending("$.Timestamp").Limit(limit).ToList();
            var payloads = includePayloads ? database.GetCollection(Payloads) : null;
            var records = new List<RequestRecord>(documents.Count);
            foreach (var document in documents)
            {
                var record = LiteDbDocuments.ToRequest(document);
                if (payloads?.FindById(record.Id) is { } payload)
                {
                    record = record with { Payload = LiteDbDocuments.ToPayload(payload) };
                }
                records.Add(record);
            }
            return Task.FromResult<IReadOnlyList<RequestRecord>>(records);
        }
    }

    public Task<RequestRecord?> GetRequestAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var database = Database();
            if (database.GetCollection(Requests).FindById(id) is not { } document)
            {
                return Task.FromResult<RequestRecord?>(null);
            }
            var record = LiteDbDocuments.ToRequest(document);
            if (database.GetCollection(Payloads).FindById(id) is { } payload)
            {
                record = record with { Payload = LiteDbDocuments.ToPayload(payload) };
            }
            return Task.FromResult<RequestRecord?>(record);
        }
    }

    public async IAsyncEnumerable<RequestRecord> QueryRequestsAsync(RequestQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        // Keyset paging on Timestamp, so the lock is held for one page at a time and a long
        // enumeration never blocks writers. Rows sharing the boundary timestamp are remembered
        // so they are neither skipped nor returned twice.
        long? cursor = query.From?.ToUnixTimeMilliseconds();
        var seenAtCursor = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var limit = QueryPageSize + seenAtCursor.Count;
            var page = FetchPage(query, cursor, limit);
            foreach (var document in page)
            {
                var timestamp = document["Timestamp"].AsInt64;
                var id = document["_id"].AsString;
                if (timestamp == cursor)
                {
                    if (!seenAtCursor.Add(id))
                    {
                        continue;
                    }
                }
                else
                {
                    cursor = timestamp;
                    seenAtCursor.Clear();
                    seenAtCursor.Add(id);
                }
                yield return LiteDbDocuments.ToRequest(document);
            }
            if (page.Count < limit)
            {
                yield break;
            }
            await Task.Yield();
        }
    }

    private List<BsonDocument> FetchPage(RequestQuery query, long? from, int limit)
    {
        lock (_gate)
        {
            var queryable = Database().GetCollection(Requests).Query();
            if (from is { } lower)
            {
                queryable = queryable.Where(Query.GTE("Timestamp", lower));
            }
            if (query.To is { } to)
            {
                queryable = queryable.Where(Query.LT("Timestamp", to.ToUnixTimeMilliseconds()));
            }
            if (query.AccountIds.Count > 0)
            {
                queryable = queryable.Where(Query.In("AccountUsed", ToArray(query.AccountIds)));
            }
            if (query.Models.Count > 0)
            {
                queryable = queryable.Where(Query.In("Model", ToArray(query.Models)));
            }
            if (query.UserIds.Count > 0)
            {
                queryable = queryable.Where(Query.In("UserId", ToArray(query.UserIds)));
            }
            if (query.ClientSessionIds.Count > 0)
            {
                queryable = queryable.Where(Query.In("ClientSessionId", ToArray(query.ClientSessionIds)));
            }
            switch (query.Status)
            {
                case RequestStatusFilter.Success:
                    queryable = queryable.Where(Query.EQ("Success", true));
                    break;
                case RequestStatusFilter.Error:
                    queryable = queryable.Where(Query.EQ("Success", false));
                    break;
            }
            return queryable.OrderBy("$.Timestamp").Limit(limit).ToList();
        }
    }

    private static BsonArray ToArray(IReadOnlyList<string> values)
    {
        var array = new BsonArray();
        foreach (var value in values)
        {
            array.Add(value);
        }
        return array;
    }

    public Task<long> DeleteRequestsAsync(DateTimeOffset? olderThan, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var database = Database();
            database.BeginTrans();
            try
            {
                long deleted;
                if (olderThan is { } cutoff)
                {
                    var predicate = Query.LT("Timestamp", cutoff.ToUnixTimeMilliseconds());
                    database.GetCollection(Payloads).DeleteMany(predicate);
                    deleted = database.GetCollection(Requests).DeleteMany(predicate);
                }
                else
                {
                    database.GetCollection(Payloads).DeleteAll();
                    deleted = database.GetCollection(Requests).DeleteAll();
                }
                database.Commit();
                return Task.FromResult(deleted);
            }
            catch
            {
                database.Rollback();
                throw;
            }
        }
    }

    public Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // Payload documents carry their request's Timestamp (indexed) for exactly this.
            long deleted = Database().GetCollection(Payloads).DeleteMany(Query.LT("Timestamp", olderThan.ToUnixTimeMilliseconds()));
            return Task.FromResult(deleted);
        }
    }

    public Task CompactAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var source = Database();
            // Copy every collection into a fresh file (with the same indexes and version), then swap it in with
            // an atomic rename. LiteDB's own Rebuild does not shrink a database opened on streams.
            var compactPath = Path.Combine(
                Path.GetDirectoryName(_databasePath)!,
                Path.GetFileNameWithoutExtension(_databasePath) + "-compact" + Path.GetExtension(_databasePath));
            DeleteFileAndLog(compactPath);
            try
            {
                using (var target = LiteDbFile.Open(compactPath, createDirectory: false))
                {
                    LiteDbSchema.Migrate(target.Database);
                    foreach (var name in source.GetCollectionNames())
                    {
                        target.Database.GetCollection(name).InsertBulk(source.GetCollection(name).FindAll(), batchSize: 5000);
                    }
                    target.Database.UserVersion = source.UserVersion;
                }
                _file!.Dispose();
                _file = null;
                File.Move(compactPath, _databasePath, overwrite: true);
            }
            catch
            {
                DeleteFileAndLog(compactPath);
                throw;
            }
            finally
            {
                // Reopen whatever is now at the path (the compacted file, or the original after a failure).
                _ = Database();
            }
        }
        return Task.CompletedTask;
    }

    private static void DeleteFileAndLog(string path)
    {
        File.Delete(path);
        File.Delete(LiteDbFile.LogPath(path));
    }

    // Settings

    public Task<IReadOnlyDictionary<string, string>> GetSettingsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var settings = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var document in Database().GetCollection(Settings).FindAll())
            {
                settings[document["_id"].AsString] = document["Value"].AsString;
            }
            return Task.FromResult<IReadOnlyDictionary<string, string>>(settings);
        }
    }

    public Task SetSettingAsync(string key, string value, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Database().GetCollection(Settings).Upsert(new BsonDocument { ["_id"] = key, ["Value"] = value });
        }
        return Task.CompletedTask;
    }

    // OAuth sign-in sessions

    public Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        lock (_gate)
        {
            Database().GetCollection(AuthSessions).Upsert(LiteDbDocuments.FromAuthSession(session));
        }
        return Task.CompletedTask;
    }

    public Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var document = Database().GetCollection(AuthSessions).FindById(id);
            return Task.FromResult(document is null ? null : LiteDbDocuments.ToAuthSession(document));
        }
    }

    public Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Database().GetCollection(AuthSessions).Delete(id));
        }
    }

    public Task<int> DeleteExpiredAuthSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Database().GetCollection(AuthSessions).DeleteMany(Query.LTE("ExpiresAt", now.ToUnixTimeMilliseconds())));
        }
    }

    // Access-key users

    public Task<IReadOnlyList<AccessKeyUser>> GetUsersAsync(CancellationToken cancellationToken) =>
        Task.FromResult(AllByCreation(Users, LiteDbDocuments.ToUser));

    /// <summary>Every document of <paramref name="collection"/>, oldest <c>CreatedAt</c> first.</summary>
    private IReadOnlyList<T> AllByCreation<T>(string collection, Func<BsonDocument, T> map)
    {
        lock (_gate)
        {
            var documents = Database().GetCollection(collection).Query().OrderBy("$.CreatedAt").ToList();
            var items = new List<T>(documents.Count);
            foreach (var document in documents)
            {
                items.Add(map(document));
            }
            return items;
        }
    }

    public Task<bool> AddUserAsync(AccessKeyUser user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        lock (_gate)
        {
            var users = Database().GetCollection(Users);
            if (users.FindById(user.Id) is not null
                || users.Exists(Query.Or(Query.EQ("Name", user.Name), Query.EQ("AccessKeyHash", user.AccessKeyHash))))
            {
                return Task.FromResult(false);
            }
            users.Insert(LiteDbDocuments.FromUser(user));
            return Task.FromResult(true);
        }
    }

    public Task<bool> DeleteUserAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Database().GetCollection(Users).Delete(id));
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _file?.Dispose();
            _file = null;
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
