using System.Text.Json;
using Ccflare.Storage;

namespace Ccflare.StandaloneServer.Cli;

/// <summary>
/// An interim file-backed store for the CLI and its tests until the SQLite store is wired in:
/// accounts, settings, sign-in sessions and users live in <c>ccflare-store.json</c> in the data
/// directory (re-read and rewritten under a cross-process file lock on every call, so the CLI and a
/// server can share it); request history stays in memory. Secrets arrive already encrypted by Ccflare.
/// </summary>
internal sealed class JsonFileStore : ICcflareStore
{
    public const string FileName = "ccflare-store.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly string _path;
    private readonly string _lockPath;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly InMemoryStore _history = new();

    public JsonFileStore(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        _path = Path.Combine(dataDir, FileName);
        _lockPath = _path + ".lock";
    }

    public string FilePath => _path;

    public Task InitializeAsync(CancellationToken cancellationToken) => UseAsync(static _ => true, cancellationToken);

    public async Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken) =>
        await UseAsync(static d => (IReadOnlyList<Account>)[.. d.Accounts.OrderBy(a => a.CreatedAt)], cancellationToken).ConfigureAwait(false);

    public Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken) => UseAsync(d =>
    {
        if (d.Accounts.Any(a => a.Id == account.Id || a.Name == account.Name))
        {
            return false;
        }
        d.Accounts.Add(account);
        d.Changed = true;
        return true;
    }, cancellationToken);

    public Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken) => UseAsync(d =>
    {
        var index = d.Accounts.FindIndex(a => a.Id == account.Id);
        if (index < 0)
        {
            return false;
        }
        d.Accounts[index] = account;
        d.Changed = true;
        return true;
    }, cancellationToken);

    public Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken) => UseAsync(d => d.Changed = d.Accounts.RemoveAll(a => a.Id == id) > 0, cancellationToken);

    public Task WriteRequestsAsync(IReadOnlyList<RequestRecord> records, CancellationToken cancellationToken) => _history.WriteRequestsAsync(records, cancellationToken);

    public Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken) => _history.GetRecentRequestsAsync(limit, includePayloads, cancellationToken);

    public Task<RequestRecord?> GetRequestAsync(string id, CancellationToken cancellationToken) => _history.GetRequestAsync(id, cancellationToken);

    public IAsyncEnumerable<RequestRecord> QueryRequestsAsync(RequestQuery query, CancellationToken cancellationToken) => _history.QueryRequestsAsync(query, cancellationToken);

    public Task<long> DeleteRequestsAsync(DateTimeOffset? olderThan, CancellationToken cancellationToken) => _history.DeleteRequestsAsync(olderThan, cancellationToken);

    public Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken) => _history.DeletePayloadsAsync(olderThan, cancellationToken);

    public Task CompactAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<IReadOnlyDictionary<string, string>> GetSettingsAsync(CancellationToken cancellationToken) =>
        await UseAsync(static d => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(d.Settings, StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);

    public Task SetSettingAsync(string key, string value, CancellationToken cancellationToken) => UseAsync(d =>
    {
        d.Settings[key] = value;
        return d.Changed = true;
    }, cancellationToken);

    public Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken) => UseAsync(d =>
    {
        d.Sessions.RemoveAll(s => s.Id == session.Id);
        d.Sessions.Add(session);
        return d.Changed = true;
    }, cancellationToken);

    public Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken) => UseAsync(d => d.Sessions.Find(s => s.Id == id), cancellationToken);

    public Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken) => UseAsync(d => d.Changed = d.Sessions.RemoveAll(s => s.Id == id) > 0, cancellationToken);

    public Task<int> DeleteExpiredAuthSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken) => UseAsync(d =>
    {
        var removed = d.Sessions.RemoveAll(s => s.ExpiresAt <= now);
        d.Changed = removed > 0;
        return removed;
    }, cancellationToken);

    public async Task<IReadOnlyList<AccessKeyUser>> GetUsersAsync(CancellationToken cancellationToken) =>
        await UseAsync(static d => (IReadOnlyList<AccessKeyUser>)[.. d.Users], cancellationToken).ConfigureAwait(false);

    public Task<bool> AddUserAsync(AccessKeyUser user, CancellationToken cancellationToken) => UseAsync(d =>
    {
        if (d.Users.Any(u => u.Id == user.Id || u.Name == user.Name || u.AccessKeyHash == user.AccessKeyHash))
        {
            return false;
        }
        d.Users.Add(user);
        return d.Changed = true;
    }, cancellationToken);

    public Task<bool> DeleteUserAsync(string id, CancellationToken cancellationToken) => UseAsync(d => d.Changed = d.Users.RemoveAll(u => u.Id == id) > 0, cancellationToken);

    /// <summary>Reads the file under the lock, runs <paramref name="action"/>, and rewrites the file atomically when it changed something.</summary>
    private async Task<T> UseAsync<T>(Func<Data, T> action, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var fileLock = await AcquireFileLockAsync(cancellationToken).ConfigureAwait(false);
            var data = File.Exists(_path)
                ? JsonSerializer.Deserialize<Data>(await File.ReadAllBytesAsync(_path, cancellationToken).ConfigureAwait(false), Json) ?? new Data()
                : new Data();
            var result = action(data);
            if (data.Changed || !File.Exists(_path))
            {
                var temp = _path + ".tmp";
                await File.WriteAllBytesAsync(temp, JsonSerializer.SerializeToUtf8Bytes(data, Json), cancellationToken).ConfigureAwait(false);
                File.Move(temp, _path, overwrite: true);
            }
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<FileStream> AcquireFileLockAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return new FileStream(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private sealed class Data
    {
        public List<Account> Accounts { get; set; } = [];
        public Dictionary<string, string> Settings { get; set; } = new(StringComparer.Ordinal);
        public List<AuthSession> Sessions { get; set; } = [];
        public List<AccessKeyUser> Users { get; set; } = [];

        [System.Text.Json.Serialization.JsonIgnore]
        public bool Changed { get; set; }
    }
}
