using System.Runtime.CompilerServices;

namespace Ccflare.Storage;

/// <summary>
/// A store that keeps everything in memory: for tests and for hosts that want no persistence.
/// History is bounded: past <see cref="CcflareOptions.InMemoryMaxRequests"/> rows the oldest go, and
/// past <see cref="CcflareOptions.InMemoryMaxPayloadBytes"/> of payloads the oldest payloads go (their
/// rows stay). Rows are indexed by time, so recent-request and range queries never sort the store.
/// </summary>
internal sealed class InMemoryStore : ICcflareStore
{
    private readonly Lock _gate = new();
    private readonly int _maxRequests;
    private readonly long _maxPayloadBytes;
    private readonly SortedSet<RowKey> _order = new(RowKey.Comparer);
    private readonly SortedSet<RowKey> _payloadOrder = new(RowKey.Comparer);
    private long _payloadBytes;
    private readonly List<Account> _accounts = [];
    private readonly Dictionary<string, RequestRecord> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _settings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AuthSession> _authSessions = new(StringComparer.Ordinal);
    private readonly List<AccessKeyUser> _users = [];

    public InMemoryStore()
        : this(new CcflareOptions())
    {
    }

    /// <summary>
    /// Applies the configuration of <see cref="CcflareOptions"/> (bound sections and <c>AddCcflare</c>'s
    /// lambda) to a copy of its own instead of taking the validated options: validating them resolves
    /// the strategies, which need the account registry, which needs this store.
    /// </summary>
    public InMemoryStore(IEnumerable<Microsoft.Extensions.Options.IConfigureOptions<CcflareOptions>> configure)
        : this(Configured(configure))
    {
    }

    private static CcflareOptions Configured(IEnumerable<Microsoft.Extensions.Options.IConfigureOptions<CcflareOptions>> configure)
    {
        var options = new CcflareOptions();
        foreach (var step in configure)
        {
            step.Configure(options);
        }
        return options;
    }

    private InMemoryStore(CcflareOptions options)
    {
        _maxRequests = Math.Max(1, options.InMemoryMaxRequests);
        _maxPayloadBytes = Math.Max(0, options.InMemoryMaxPayloadBytes);
    }

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
                if (_requests.Remove(record.Id, out var previous))
                {
                    Forget(previous);
                }
                _requests[record.Id] = record;
                _order.Add(RowKey.Of(record));
                if (record.Payload is { } payload)
                {
                    _payloadOrder.Add(RowKey.Of(record));
                    _payloadBytes += SizeOf(payload);
                }
            }
            while (_requests.Count > _maxRequests)
            {
                var oldest = _order.Min;
                Forget(_requests[oldest.Id]);
                _requests.Remove(oldest.Id);
            }
            while (_payloadBytes > _maxPayloadBytes && _payloadOrder.Count > 0)
            {
                var oldest = _payloadOrder.Min;
                StripPayload(_requests[oldest.Id]);
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>Removes a row's entries from the indexes (not from the dictionary).</summary>
    private void Forget(RequestRecord record)
    {
        var key = RowKey.Of(record);
        _order.Remove(key);
        if (record.Payload is { } payload)
        {
            _payloadOrder.Remove(key);
            _payloadBytes -= SizeOf(payload);
        }
    }

    private void StripPayload(RequestRecord record)
    {
        if (record.Payload is { } payload)
        {
            _payloadOrder.Remove(RowKey.Of(record));
            _payloadBytes -= SizeOf(payload);
            _requests[record.Id] = record with { Payload = null };
        }
    }

    /// <summary>Bytes a payload holds: bodies plus header text (UTF-16).</summary>
    internal static long SizeOf(RequestPayload payload)
    {
        long size = (payload.RequestBody?.Length ?? 0) + (payload.ResponseBody?.Length ?? 0);
        foreach (var (name, value) in payload.RequestHeaders)
        {
            size += 2L * (name.Length + value.Length);
        }
        foreach (var (name, value) in payload.ResponseHeaders)
        {
            size += 2L * (name.Length + value.Length);
        }
        return size;
    }

    /// <summary>Rows currently kept and their payload bytes (for tests and diagnostics).</summary>
    internal (int Rows, long PayloadBytes) Usage
    {
        get
        {
            lock (_gate)
            {
                return (_requests.Count, _payloadBytes);
            }
        }
    }

    public Task<IReadOnlyList<RequestRecord>> GetRecentRequestsAsync(int limit, bool includePayloads, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // Newest first straight from the ordered index: no sort of the whole store.
            var result = new List<RequestRecord>(Math.Min(Math.Max(limit, 0), _requests.Count));
            foreach (var key in _order.Reverse())
            {
                if (result.Count >= limit)
                {
                    break;
                }
                var record = _requests[key.Id];
                result.Add(includePayloads ? record : record with { Payload = null });
            }
            return Task.FromResult<IReadOnlyList<RequestRecord>>(result);
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
        List<RequestRecord> matches = [];
        lock (_gate)
        {
            foreach (var key in Range(query.From, query.To))
            {
                var record = _requests[key.Id];
                if (Matches(query, record))
                {
                    matches.Add(record with { Payload = null });
                }
            }
        }
        foreach (var record in matches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Keys with timestamps in [from, to), oldest first, from the ordered index.</summary>
    private IEnumerable<RowKey> Range(DateTimeOffset? from, DateTimeOffset? to)
    {
        if (_order.Count == 0)
        {
            return [];
        }
        var low = from is { } f ? new RowKey(f.UtcTicks, "") : _order.Min;
        var high = to is { } t ? new RowKey(t.UtcTicks - 1, RowKey.MaxId) : _order.Max;
        return RowKey.Comparer.Compare(low, high) > 0 ? [] : _order.GetViewBetween(low, high);
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
            var doomed = Range(null, olderThan).ToList();
            foreach (var key in doomed)
            {
                Forget(_requests[key.Id]);
                _requests.Remove(key.Id);
            }
            return Task.FromResult((long)doomed.Count);
        }
    }

    public Task<long> DeletePayloadsAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var stripped = 0L;
            foreach (var key in Range(null, olderThan).ToList())
            {
                if (_requests[key.Id].Payload is not null)
                {
                    StripPayload(_requests[key.Id]);
                    stripped++;
                }
            }
            return Task.FromResult(stripped);
        }
    }

    /// <summary>A row's place in time order; the id breaks ties so that every row has its own key.</summary>
    private readonly record struct RowKey(long Ticks, string Id)
    {
        /// <summary>Sorts after every real id (UUIDs are ASCII).</summary>
        public const string MaxId = "\uffff";

        public static readonly IComparer<RowKey> Comparer = Comparer<RowKey>.Create(static (a, b) =>
        {
            var byTime = a.Ticks.CompareTo(b.Ticks);
            return byTime != 0 ? byTime : string.CompareOrdinal(a.Id, b.Id);
        });

        public static RowKey Of(RequestRecord record) => new(record.Timestamp.UtcTicks, record.Id);
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
