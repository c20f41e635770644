using System.Runtime.CompilerServices;

namespace Ccflare.Storage;

/// <summary>A store that keeps everything in memory: for tests and for hosts that want no persistence.</summary>
internal sealed class InMemoryStore : ICcflareStore
{
    private readonly Lock _gate = new();
    private readonly List<Account> _accounts = [];
    private readonly Dictionary<string, RequestRecord> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _settings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AuthSession> _authSessions = new(StringComparer.Ordinal);
    private readonly List<AccessKeyUser> _users = [];

    public Task InitializeAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<Account>> GetAccountsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<Account>>([.. _accounts.OrderBy(a => a.CreatedAt)]);
        }
    }

    public Task<bool> AddAccountAsync(Account account, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_accounts.Exists(a => a.Name == account.Name || a.Id == account.Id))
            {
                return Task.FromResult(false);
            }
            _accounts.Add(account);
            return Task.FromResult(true);
        }
    }

    public Task<bool> UpdateAccountAsync(Account account, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var index = _accounts.FindIndex(a => a.Id == account.Id);
            if (index < 0 || _accounts.Exists(a => a.Name == account.Name && a.Id != account.Id))
            {
                return Task.FromResult(false);
            }
            _accounts[index] = account;
            return Task.FromResult(true);
        }
    }

    public Task<bool> DeleteAccountAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_accounts.RemoveAll(a => a.Id == id) > 0);
        }
    }

    public Task WriteRequestsAsync(IReadOnlyList<RequestRecord> records, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var record in records)
            {
                _requests[record.Id] = record;
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<RequestRecord>>(
                [.. _requests.Values.OrderByDescending(r => r.Timestamp).Take(limit).Select(r => includePayloads ? r : r with { Payload = null })]);
        }
    }

    public Task<RequestRecord?> GetRequestAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_requests.GetValueOrDefault(id));
        }
    }

    public async IAsyncEnumerable<RequestRecord> QueryRequestsAsync(RequestQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<RequestRecord> matches;
        lock (_gate)
        {
            matches = [.. _requests.Values.Where(r => Matches(query, r)).OrderBy(r => r.Timestamp).Select(r => r with { Payload = null })];
        }
        foreach (var record in matches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    internal static bool Matches(RequestQuery query, RequestRecord record) =>
        (query.From is null || record.Timestamp >= query.From)
        && (query.To is null || record.Timestamp < query.To)
        && (query.AccountIds.Count == 0 || (record.AccountUsed is not null && query.AccountIds.Contains(record.AccountUsed)))
        && (query.Models.Count == 0 || (record.Model is not null && query.Models.Contains(record.Model)))
        && (query.UserIds.Count == 0 || (record.UserId is not null && query.UserIds.Contains(record.UserId)))
        && (query.ClientSessionIds.Count == 0 || (record.ClientSessionId is not null && query.ClientSessionIds.Contains(record.ClientSessionId)))
        && (query.Status switch
        {
            RequestStatusFilter.Success => record.Success,
            RequestStatusFilter.Error => !record.Success,
            _ => true,
        });

    public Task<long> DeleteRequestsAsync(DateTimeOffset? olderThan, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var doomed = _requests.Values.Where(r => olderThan is null || r.Timestamp < olderThan).Select(r => r.Id).ToList();
            foreach (var id in doomed)
            {
                _requests.Remove(id);
            }
            return Task.FromResult((long)doomed.Count);
        }
    }

    public Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var stripped = _requests.Values.Where(r => r.Timestamp < olderThan && r.Payload is not null).ToList();
            foreach (var record in stripped)
            {
                _requests[record.Id] = record with { Payload = null };
            }
            return Task.FromResult((long)stripped.Count);
        }
    }

    public Task CompactAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyDictionary<string, string>> GetSettingsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>(_settings));
        }
    }

    public Task SetSettingAsync(string key, string value, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _settings[key] = value;
        }
        return Task.CompletedTask;
    }

    public Task SaveAuthSessionAsync(AuthSession session, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _authSessions[session.Id] = session;
        }
        return Task.CompletedTask;
    }

    public Task<AuthSession?> GetAuthSessionAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_authSessions.GetValueOrDefault(id));
        }
    }

    public Task<bool> DeleteAuthSessionAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_authSessions.Remove(id));
        }
    }

    public Task<int> DeleteExpiredAuthSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var expired = _authSessions.Values.Where(s => s.ExpiresAt <= now).Select(s => s.Id).ToList();
            foreach (var id in expired)
            {
                _authSessions.Remove(id);
            }
            return Task.FromResult(expired.Count);
        }
    }

    public Task<IReadOnlyList<AccessKeyUser>> GetUsersAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<AccessKeyUser>>([.. _users.OrderBy(u => u.CreatedAt)]);
        }
    }

    public Task<bool> AddUserAsync(AccessKeyUser user, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_users.Exists(u => u.Id == user.Id || u.Name == user.Name || u.AccessKeyHash == user.AccessKeyHash))
            {
                return Task.FromResult(false);
            }
            _users.Add(user);
            return Task.FromResult(true);
        }
    }

    public Task<bool> DeleteUserAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_users.RemoveAll(u => u.Id == id) > 0);
        }
    }
}
