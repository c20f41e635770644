using static Ccflare.Storage.Tests.TestData;

namespace Ccflare.Storage.Tests;

/// <summary>
/// The storage contract, written once and run against every <see cref="ICcflareStore"/>.
/// Each test gets a fresh temporary directory and an initialized store in it.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    protected StoreContractTests()
    {
        Directory = Path.Combine(Path.GetTempPath(), "ccflare-storage-tests", Guid.NewGuid().ToString("N"));
    }

    /// <summary>The test's temporary directory, deleted afterwards.</summary>
    protected string Directory { get; }

    /// <summary>The store under test.</summary>
    protected ICcflareStore Store { get; set; } = null!;

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    /// <summary>Cancels a test that hangs instead of letting it block the run.</summary>
    protected CancellationToken Ct => _timeout.Token;

    /// <summary>Creates a store keeping its data in <paramref name="directory"/>; the same directory means the same file.</summary>
    protected abstract ICcflareStore CreateStore(string directory);

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        Store = CreateStore(Directory);
        await Store.InitializeAsync(Ct);
    }

    public async Task DisposeAsync()
    {
        await DisposeStoreAsync(Store);
        _timeout.Dispose();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    protected static async ValueTask DisposeStoreAsync(ICcflareStore store)
    {
        switch (store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    protected async Task<List<string>> QueryIdsAsync(RequestQuery query)
    {
        var ids = new List<string>();
        await foreach (var record in Store.QueryRequestsAsync(query, Ct))
        {
            Assert.Null(record.Payload);
            ids.Add(record.Id);
        }
        return ids;
    }

    // Accounts

    [Fact]
    public async Task Empty_store_has_no_accounts_settings_users_or_requests()
    {
        Assert.Empty(await Store.GetAccountsAsync(Ct));
        Assert.Empty(await Store.GetSettingsAsync(Ct));
        Assert.Empty(await Store.GetUsersAsync(Ct));
        Assert.Empty(await Store.GetRecentRequestsAsync(10, includePayloads: true, Ct));
        Assert.Empty(await QueryIdsAsync(new RequestQuery()));
    }

    [Fact]
    public async Task Account_with_every_field_set_round_trips_exactly()
    {
        var account = FullAccount();

        Assert.True(await Store.AddAccountAsync(account, Ct));

        var stored = Assert.Single(await Store.GetAccountsAsync(Ct));
        Assert.Equal(account, stored);
        Assert.Equal(account.ExpiresAt!.Value.UtcTicks, stored.ExpiresAt!.Value.UtcTicks);
    }

    [Fact]
    public async Task Account_with_every_optional_field_null_round_trips_exactly()
    {
        var account = MinimalAccount("acc-min", "minimal", T0);

        Assert.True(await Store.AddAccountAsync(account, Ct));

        var stored = Assert.Single(await Store.GetAccountsAsync(Ct));
        Assert.Equal(account, stored);
        Assert.Null(stored.BaseUrl);
        Assert.Null(stored.ExpiresAt);
        Assert.Null(stored.RateLimitRemaining);
        Assert.Equal(AccountAuthMethods.ApiKey, stored.AuthMethod);
        Assert.Equal(1, stored.Weight);
        Assert.False(stored.Paused);
    }

    [Fact]
    public async Task Adding_an_account_with_a_taken_name_or_id_returns_false_and_changes_nothing()
    {
        var first = MinimalAccount("acc-1", "alpha", T0);
        Assert.True(await Store.AddAccountAsync(first, Ct));

        Assert.False(await Store.AddAccountAsync(MinimalAccount("acc-2", "alpha", T0.AddSeconds(1)), Ct));
        Assert.False(await Store.AddAccountAsync(MinimalAccount("acc-1", "beta", T0.AddSeconds(1)), Ct));

        Assert.Equal([first], await Store.GetAccountsAsync(Ct));
    }

    [Fact]
    public async Task Account_names_and_ids_are_case_sensitive()
    {
        Assert.True(await Store.AddAccountAsync(MinimalAccount("acc-a", "alpha", T0), Ct));
        Assert.True(await Store.AddAccountAsync(MinimalAccount("ACC-A", "Alpha", T0.AddSeconds(1)), Ct));

        Assert.True(await Store.DeleteAccountAsync("ACC-A", Ct));
        Assert.Equal(["alpha"], (await Store.GetAccountsAsync(Ct)).Select(a => a.Name));
    }

    [Fact]
    public async Task Update_replaces_the_row_and_unknown_id_returns_false()
    {
        var original = MinimalAccount("acc-1", "alpha", T0);
        Assert.True(await Store.AddAccountAsync(original, Ct));
        var updated = FullAccount("acc-1", "alpha-renamed") with { CreatedAt = T0 };

        Assert.True(await Store.UpdateAccountAsync(updated, Ct));
        Assert.False(await Store.UpdateAccountAsync(MinimalAccount("acc-unknown", "ghost", T0), Ct));

        Assert.Equal([updated], await Store.GetAccountsAsync(Ct));
    }

    [Fact]
    public async Task Update_to_another_accounts_name_returns_false()
    {
        var alpha = MinimalAccount("acc-1", "alpha", T0);
        var beta = MinimalAccount("acc-2", "beta", T0.AddSeconds(1));
        Assert.True(await Store.AddAccountAsync(alpha, Ct));
        Assert.True(await Store.AddAccountAsync(beta, Ct));

        Assert.False(await Store.UpdateAccountAsync(beta with { Name = "alpha" }, Ct));

        Assert.Equal([alpha, beta], await Store.GetAccountsAsync(Ct));
    }

    [Fact]
    public async Task Delete_removes_the_account_once()
    {
        var alpha = MinimalAccount("acc-1", "alpha", T0);
        var beta = MinimalAccount("acc-2", "beta", T0.AddSeconds(1));
        await Store.AddAccountAsync(alpha, Ct);
        await Store.AddAccountAsync(beta, Ct);

        Assert.True(await Store.DeleteAccountAsync("acc-1", Ct));
        Assert.False(await Store.DeleteAccountAsync("acc-1", Ct));
        Assert.False(await Store.DeleteAccountAsync("acc-unknown", Ct));

        Assert.Equal([beta], await Store.GetAccountsAsync(Ct));
        // The name is free again.
        Assert.True(await Store.AddAccountAsync(MinimalAccount("acc-3", "alpha", T0.AddSeconds(2)), Ct));
    }

    [Fact]
    public async Task Accounts_are_listed_by_creation_time_not_insertion_order()
    {
        await Store.AddAccountAsync(MinimalAccount("c", "third", T0.AddMinutes(3)), Ct);
        await Store.AddAccountAsync(MinimalAccount("a", "first", T0.AddMinutes(1)), Ct);
        await Store.AddAccountAsync(MinimalAccount("b", "second", T0.AddMinutes(2).AddMilliseconds(1)), Ct);

        var accounts = await Store.GetAccountsAsync(Ct);

        Assert.Equal(["first", "second", "third"], accounts.Select(a => a.Name));
    }

    // Request history

    [Fact]
    public async Task Request_with_every_field_and_payload_round_trips()
    {
        var record = FullRecord();

        await Store.WriteRequestsAsync([record], Ct);

        AssertRecordEqual(record, await Store.GetRequestAsync(record.Id, Ct));
        AssertRecordEqual(record, Assert.Single(await Store.GetRecentRequestsAsync(10, includePayloads: true, Ct)));
    }

    [Fact]
    public async Task Request_with_every_optional_field_null_round_trips_without_payload()
    {
        var record = MinimalRecord("req-min", T0, statusCode: null);

        await Store.WriteRequestsAsync([record], Ct);

        var stored = await Store.GetRequestAsync("req-min", Ct);
        AssertRecordEqual(record, stored);
        Assert.Null(stored!.Payload);
        Assert.False(stored.Success);
        Assert.Equal(0, stored.FailoverAttempts);
    }

    [Fact]
    public async Task Payload_with_empty_headers_and_null_bodies_round_trips()
    {
        var record = MinimalRecord("req-empty", T0) with { Payload = new RequestPayload() };

        await Store.WriteRequestsAsync([record], Ct);

        var stored = await Store.GetRequestAsync("req-empty", Ct);
        AssertRecordEqual(record, stored);
        Assert.Empty(stored!.Payload!.RequestHeaders);
        Assert.Null(stored.Payload.RequestBody);
        Assert.Empty(stored.Payload.AccountsAttempted);
    }

    [Fact]
    public async Task Unknown_request_is_null()
    {
        await Store.WriteRequestsAsync([MinimalRecord("req-1", T0)], Ct);

        Assert.Null(await Store.GetRequestAsync("req-unknown", Ct));
    }

    [Fact]
    public async Task Writing_the_same_id_again_replaces_the_record_and_its_payload()
    {
        var first = FullRecord("req-1");
        await Store.WriteRequestsAsync([first], Ct);

        var second = BatchRecord("req-1", T0.AddMinutes(1));
        await Store.WriteRequestsAsync([second], Ct);
        AssertRecordEqual(second, await Store.GetRequestAsync("req-1", Ct));

        var third = MinimalRecord("req-1", T0.AddMinutes(2), 503);
        await Store.WriteRequestsAsync([third], Ct);
        AssertRecordEqual(third, await Store.GetRequestAsync("req-1", Ct));

        Assert.Equal(["req-1"], await QueryIdsAsync(new RequestQuery()));
    }

    [Fact]
    public async Task Recent_requests_are_newest_first_limited_and_carry_payloads_only_when_asked()
    {
        await Store.WriteRequestsAsync(
        [
            BatchRecord("r2", T0.AddSeconds(2)),
            MinimalRecord("r4", T0.AddSeconds(4)),
            BatchRecord("r1", T0.AddSeconds(1)),
            BatchRecord("r3", T0.AddSeconds(3)),
        ], Ct);

        var withoutPayloads = await Store.GetRecentRequestsAsync(3, includePayloads: false, Ct);
        Assert.Equal(["r4", "r3", "r2"], withoutPayloads.Select(r => r.Id));
        Assert.All(withoutPayloads, r => Assert.Null(r.Payload));

        var withPayloads = await Store.GetRecentRequestsAsync(10, includePayloads: true, Ct);
        Assert.Equal(["r4", "r3", "r2", "r1"], withPayloads.Select(r => r.Id));
        Assert.Null(withPayloads[0].Payload);
        for (var i = 1; i < 4; i++)
        {
            AssertRecordEqual(BatchRecord(withPayloads[i].Id, withPayloads[i].Timestamp), withPayloads[i]);
        }

        Assert.Empty(await Store.GetRecentRequestsAsync(0, includePayloads: true, Ct));
    }

    /// <summary>Six requests a minute apart, written out of order.</summary>
    private async Task WriteQueryDataSetAsync()
    {
        RequestRecord R(string id, int minute, string? account, string? model, string? user, int? status, string? session) =>
            BatchRecord(id, T0.AddMinutes(minute)) with { AccountUsed = account, Model = model, UserId = user, StatusCode = status, ClientSessionId = session };

        await Store.WriteRequestsAsync(
        [
            R("r4", 3, "a2", "m1", "u1", 201, "s1"),
            R("r1", 0, "a1", "m1", "u1", 200, "s1"),
            R("r6", 5, "a3", "m3", "u2", 302, "s2"),
            R("r2", 1, "a2", "m2", "u2", 500, null),
            R("r5", 4, null, null, null, null, "S1"),
            R("r3", 2, "a1", "m2", null, 429, "s2"),
        ], Ct);
    }

    public static TheoryData<string, string> Queries => new()
    {
        { "all", "r1 r2 r3 r4 r5 r6" },
        { "from", "r3 r4 r5 r6" },
        { "to", "r1 r2" },
        { "from-to", "r2 r3 r4" },
        { "empty-range", "" },
        { "account", "r1 r3" },
        { "accounts", "r1 r3 r6" },
        { "model", "r1 r4" },
        { "models", "r2 r3 r6" },
        { "user", "r1 r4" },
        { "users", "r1 r2 r4 r6" },
        { "unknown-user", "" },
        { "success", "r1 r4 r6" },
        { "error", "r2 r3 r5" },
        { "combined", "r2 r3" },
        { "session", "r1 r4" },
        { "sessions", "r1 r3 r4 r6" },
        { "session-and-status", "r3" },
    };

    private static RequestQuery QueryFor(string name) => name switch
    {
        "all" => new RequestQuery(),
        "from" => new RequestQuery { From = T0.AddMinutes(2) },
        "to" => new RequestQuery { To = T0.AddMinutes(2) },
        "from-to" => new RequestQuery { From = T0.AddMinutes(1), To = T0.AddMinutes(4) },
        "empty-range" => new RequestQuery { From = T0.AddMinutes(2), To = T0.AddMinutes(2) },
        "account" => new RequestQuery { AccountIds = ["a1"] },
        "accounts" => new RequestQuery { AccountIds = ["a1", "a3"] },
        "model" => new RequestQuery { Models = ["m1"] },
        "models" => new RequestQuery { Models = ["m2", "m3"] },
        "user" => new RequestQuery { UserIds = ["u1"] },
        "users" => new RequestQuery { UserIds = ["u1", "u2"] },
        "unknown-user" => new RequestQuery { UserIds = ["nobody"] },
        "success" => new RequestQuery { Status = RequestStatusFilter.Success },
        "error" => new RequestQuery { Status = RequestStatusFilter.Error },
        "combined" => new RequestQuery { From = T0.AddMinutes(1), AccountIds = ["a1", "a2"], Status = RequestStatusFilter.Error },
        // Session ids are compared exactly: "S1" is another session than "s1".
        "session" => new RequestQuery { ClientSessionIds = ["s1"] },
        "sessions" => new RequestQuery { ClientSessionIds = ["s1", "s2"] },
        "session-and-status" => new RequestQuery { ClientSessionIds = ["s2"], Status = RequestStatusFilter.Error },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task Query_returns_exactly_the_matching_requests_oldest_first_without_payloads(string query, string expectedIds)
    {
        await WriteQueryDataSetAsync();

        var ids = await QueryIdsAsync(QueryFor(query));

        Assert.Equal(expectedIds.Split(' ', StringSplitOptions.RemoveEmptyEntries), ids);
    }

    [Fact]
    public async Task Query_bounds_are_inclusive_from_and_exclusive_to_at_millisecond_precision()
    {
        await Store.WriteRequestsAsync(
        [
            MinimalRecord("before", T0.AddMilliseconds(-1)),
            MinimalRecord("at-from", T0),
            MinimalRecord("inside", T0.AddMilliseconds(500)),
            MinimalRecord("just-before-to", T0.AddMilliseconds(999)),
            MinimalRecord("at-to", T0.AddSeconds(1)),
        ], Ct);

        var ids = await QueryIdsAsync(new RequestQuery { From = T0, To = T0.AddSeconds(1) });

        Assert.Equal(["at-from", "inside", "just-before-to"], ids);
    }

    [Fact]
    public async Task A_batch_of_1000_records_is_written_completely()
    {
        var records = Enumerable.Range(0, 1000).Select(i => BatchRecord($"batch-{i:D4}", T0.AddMilliseconds(i), withPayload: i % 2 == 0)).ToList();

        await Store.WriteRequestsAsync(records, Ct);

        Assert.Equal(records.Select(r => r.Id), await QueryIdsAsync(new RequestQuery()));
        AssertRecordEqual(records[998], await Store.GetRequestAsync("batch-0998", Ct));
        AssertRecordEqual(records[999], await Store.GetRequestAsync("batch-0999", Ct));
    }

    [Fact]
    public async Task Query_streams_past_page_boundaries_even_when_many_rows_share_a_timestamp()
    {
        // 2,500 rows in 5 groups of 500 sharing one timestamp each: any paging must neither skip nor repeat rows.
        var records = Enumerable.Range(0, 2500).Select(i => MinimalRecord($"q-{i:D4}", T0.AddSeconds(i / 500))).ToList();
        await Store.WriteRequestsAsync(records, Ct);

        var ids = await QueryIdsAsync(new RequestQuery { From = T0.AddSeconds(1) });

        Assert.Equal(2000, ids.Count);
        Assert.Equal(records.Skip(500).Select(r => r.Id).Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Eight_concurrent_writers_lose_nothing()
    {
        const int Writers = 8, Batches = 10, PerBatch = 50;

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < Batches; b++)
            {
                var batch = Enumerable.Range(0, PerBatch)
                    .Select(i => BatchRecord($"w{w}-b{b}-{i}", T0.AddMilliseconds((w * Batches + b) * PerBatch + i), withPayload: i % 3 == 0))
                    .ToList();
                await Store.WriteRequestsAsync(batch, Ct);
            }
        })));

        var ids = await QueryIdsAsync(new RequestQuery());
        Assert.Equal(Writers * Batches * PerBatch, ids.Count);
        Assert.Equal(Writers * Batches * PerBatch, ids.Distinct().Count());
        Assert.NotNull((await Store.GetRequestAsync("w7-b9-48", Ct))!.Payload);
        Assert.Null((await Store.GetRequestAsync("w7-b9-49", Ct))!.Payload);
    }

    [Fact]
    public async Task Concurrent_readers_and_writers_do_not_interfere()
    {
        await Store.AddAccountAsync(MinimalAccount("acc-1", "alpha", T0), Ct);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < 10; b++)
            {
                await Store.WriteRequestsAsync([.. Enumerable.Range(0, 20).Select(i => BatchRecord($"w{w}-{b}-{i}", T0.AddSeconds(b)))], Ct);
            }
        }));
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                Assert.Single(await Store.GetAccountsAsync(Ct));
                await Store.GetRecentRequestsAsync(20, includePayloads: true, Ct);
                await QueryIdsAsync(new RequestQuery { From = T0.AddSeconds(5) });
            }
        }));

        await Task.WhenAll(writers.Concat(readers));

        Assert.Equal(800, (await QueryIdsAsync(new RequestQuery())).Count);
    }

    [Fact]
    public async Task Deleting_requests_older_than_a_cutoff_removes_rows_and_payloads()
    {
        await Store.WriteRequestsAsync([.. Enumerable.Range(0, 10).Select(i => BatchRecord($"r{i}", T0.AddMinutes(i)))], Ct);

        var deleted = await Store.DeleteRequestsAsync(T0.AddMinutes(4), Ct);

        Assert.Equal(4, deleted);
        Assert.Equal(["r4", "r5", "r6", "r7", "r8", "r9"], await QueryIdsAsync(new RequestQuery()));
        Assert.Null(await Store.GetRequestAsync("r3", Ct));
        Assert.NotNull((await Store.GetRequestAsync("r4", Ct))!.Payload);
        Assert.Equal(0, await Store.DeleteRequestsAsync(T0.AddMinutes(4), Ct));

        // A re-used id after deletion must not resurrect the old payload.
        await Store.WriteRequestsAsync([MinimalRecord("r0", T0.AddMinutes(20))], Ct);
        Assert.Null((await Store.GetRequestAsync("r0", Ct))!.Payload);
    }

    [Fact]
    public async Task Deleting_all_requests_returns_how_many()
    {
        await Store.WriteRequestsAsync([.. Enumerable.Range(0, 7).Select(i => BatchRecord($"r{i}", T0.AddMinutes(i)))], Ct);

        Assert.Equal(7, await Store.DeleteRequestsAsync(null, Ct));

        Assert.Empty(await QueryIdsAsync(new RequestQuery()));
        Assert.Empty(await Store.GetRecentRequestsAsync(10, includePayloads: true, Ct));
        Assert.Equal(0, await Store.DeleteRequestsAsync(null, Ct));
    }

    [Fact]
    public async Task Deleting_payloads_keeps_the_rows_and_newer_payloads()
    {
        await Store.WriteRequestsAsync(
        [
            BatchRecord("old-1", T0),
            MinimalRecord("old-no-payload", T0.AddMinutes(1)),
            BatchRecord("old-2", T0.AddMinutes(2)),
            BatchRecord("new-1", T0.AddMinutes(3)),
        ], Ct);

        var deleted = await Store.DeletePayloadsAsync(T0.AddMinutes(3), Ct);

        Assert.Equal(2, deleted);
        Assert.Equal(["old-1", "old-no-payload", "old-2", "new-1"], await QueryIdsAsync(new RequestQuery()));
        var old = await Store.GetRequestAsync("old-1", Ct);
        Assert.Null(old!.Payload);
        AssertRecordEqual(BatchRecord("old-1", T0) with { Payload = null }, old);
        AssertRecordEqual(BatchRecord("new-1", T0.AddMinutes(3)), await Store.GetRequestAsync("new-1", Ct));
        Assert.Equal(0, await Store.DeletePayloadsAsync(T0.AddMinutes(3), Ct));
    }

    [Fact]
    public async Task Compact_keeps_every_kind_of_data()
    {
        await Store.AddAccountAsync(FullAccount(), Ct);
        await Store.SetSettingAsync("lb_strategy", "session", Ct);
        await Store.WriteRequestsAsync([.. Enumerable.Range(0, 300).Select(i => BatchRecord($"r{i:D3}", T0.AddSeconds(i)))], Ct);
        await Store.DeleteRequestsAsync(T0.AddSeconds(200), Ct);

        await Store.CompactAsync(Ct);

        Assert.Equal([FullAccount()], await Store.GetAccountsAsync(Ct));
        Assert.Equal("session", (await Store.GetSettingsAsync(Ct))["lb_strategy"]);
        var ids = await QueryIdsAsync(new RequestQuery());
        Assert.Equal(100, ids.Count);
        AssertRecordEqual(BatchRecord("r250", T0.AddSeconds(250)), await Store.GetRequestAsync("r250", Ct));

        // Still writable afterwards.
        await Store.WriteRequestsAsync([MinimalRecord("after", T0.AddHours(1))], Ct);
        Assert.NotNull(await Store.GetRequestAsync("after", Ct));
    }

    [Fact]
    public async Task Compaction_while_writers_run_loses_nothing()
    {
        await Store.WriteRequestsAsync([.. Enumerable.Range(0, 500).Select(i => BatchRecord($"seed-{i}", T0.AddMilliseconds(i)))], Ct);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < 10; b++)
            {
                await Store.WriteRequestsAsync([.. Enumerable.Range(0, 25).Select(i => BatchRecord($"w{w}-{b}-{i}", T0.AddSeconds(1 + b)))], Ct);
            }
        }));
        var compactions = Task.Run(async () =>
        {
            await Store.DeleteRequestsAsync(T0.AddMilliseconds(250), Ct);
            await Store.CompactAsync(Ct);
            await Store.CompactAsync(Ct);
        });

        await Task.WhenAll([.. writers, compactions]);

        Assert.Equal(250 + 4 * 10 * 25, (await QueryIdsAsync(new RequestQuery())).Count);
        Assert.NotNull((await Store.GetRequestAsync("w3-9-24", Ct))!.Payload);
    }

    // Settings

    [Fact]
    public async Task Settings_are_stored_and_overwritten()
    {
        await Store.SetSettingAsync("lb_strategy", "session", Ct);
        await Store.SetSettingAsync("session_duration_ms", "18000000", Ct);
        await Store.SetSettingAsync("lb_strategy", "round-robin", Ct);

        var settings = await Store.GetSettingsAsync(Ct);

        Assert.Equal(2, settings.Count);
        Assert.Equal("round-robin", settings["lb_strategy"]);
        Assert.Equal("18000000", settings["session_duration_ms"]);
    }

    // OAuth sign-in sessions

    private static AuthSession Session(string id, DateTimeOffset expiresAt) => new()
    {
        Id = id,
        Provider = "claude-code",
        AccountName = "account-" + id,
        StateJson = """{"verifier":"abc","state":"xyz"}""",
        CreatedAt = expiresAt.AddMinutes(-10).AddMilliseconds(7),
        ExpiresAt = expiresAt,
    };

    [Fact]
    public async Task Auth_session_round_trips_and_is_consumed_once()
    {
        var session = Session("s1", T0.AddMinutes(10)) with { AuthMethod = "oauth" };
        await Store.SaveAuthSessionAsync(session, Ct);

        Assert.Equal(session, await Store.GetAuthSessionAsync("s1", Ct));
        Assert.Null(await Store.GetAuthSessionAsync("unknown", Ct));

        Assert.True(await Store.DeleteAuthSessionAsync("s1", Ct));
        Assert.False(await Store.DeleteAuthSessionAsync("s1", Ct));
        Assert.Null(await Store.GetAuthSessionAsync("s1", Ct));
    }

    [Fact]
    public async Task Saving_an_auth_session_again_replaces_it()
    {
        await Store.SaveAuthSessionAsync(Session("s1", T0), Ct);
        var replaced = Session("s1", T0.AddHours(1)) with { StateJson = "{}" };

        await Store.SaveAuthSessionAsync(replaced, Ct);

        Assert.Equal(replaced, await Store.GetAuthSessionAsync("s1", Ct));
    }

    [Fact]
    public async Task Expired_auth_sessions_are_cleaned_up()
    {
        await Store.SaveAuthSessionAsync(Session("expired", T0.AddMinutes(-1)), Ct);
        await Store.SaveAuthSessionAsync(Session("expires-now", T0), Ct);
        await Store.SaveAuthSessionAsync(Session("live", T0.AddMilliseconds(1)), Ct);

        Assert.Equal(2, await Store.DeleteExpiredAuthSessionsAsync(T0, Ct));

        Assert.Null(await Store.GetAuthSessionAsync("expired", Ct));
        Assert.Null(await Store.GetAuthSessionAsync("expires-now", Ct));
        Assert.NotNull(await Store.GetAuthSessionAsync("live", Ct));
        Assert.Equal(0, await Store.DeleteExpiredAuthSessionsAsync(T0, Ct));
    }

    // Access-key users

    private static AccessKeyUser User(string id, string name, string hash, DateTimeOffset createdAt) => new()
    {
        Id = id,
        Name = name,
        AccessKeyHash = hash,
        CreatedAt = createdAt,
    };

    [Fact]
    public async Task Users_are_added_listed_by_creation_and_deleted_once()
    {
        var bob = User("u2", "bob", new string('b', 64), T0.AddSeconds(2).AddMilliseconds(5));
        var alice = User("u1", "alice", new string('a', 64), T0.AddSeconds(1));
        Assert.True(await Store.AddUserAsync(bob, Ct));
        Assert.True(await Store.AddUserAsync(alice, Ct));

        Assert.Equal([alice, bob], await Store.GetUsersAsync(Ct));

        Assert.True(await Store.DeleteUserAsync("u1", Ct));
        Assert.False(await Store.DeleteUserAsync("u1", Ct));
        Assert.Equal([bob], await Store.GetUsersAsync(Ct));
    }

    [Fact]
    public async Task Adding_a_user_with_a_taken_name_key_hash_or_id_returns_false()
    {
        var alice = User("u1", "alice", new string('a', 64), T0);
        Assert.True(await Store.AddUserAsync(alice, Ct));

        Assert.False(await Store.AddUserAsync(User("u2", "alice", new string('c', 64), T0), Ct));
        Assert.False(await Store.AddUserAsync(User("u3", "carol", new string('a', 64), T0), Ct));
        Assert.False(await Store.AddUserAsync(User("u1", "dave", new string('d', 64), T0), Ct));

        Assert.Equal([alice], await Store.GetUsersAsync(Ct));
    }
}
