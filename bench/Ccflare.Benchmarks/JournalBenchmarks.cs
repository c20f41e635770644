using System.Diagnostics;
using System.Reflection;
using System.Text;
using BenchmarkDotNet.Attributes;
using Ccflare.Accounts;
using Ccflare.Pricing;
using Ccflare.Proxy;
using Ccflare.Recording;
using Ccflare.Recording.Journal;
using Ccflare.Security;
using Ccflare.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Ccflare.Benchmarks;

/// <summary>
/// What acknowledging a finished request costs on the request path: counting it on its account,
/// and with the journal open also parsing its usage, building the row and appending one line to
/// the journal file (one <c>pwrite</c> into the page cache).
/// </summary>
[MemoryDiagnoser]
public class JournalBenchmarks
{
    private static readonly byte[] ResponseJson = Encoding.UTF8.GetBytes(
        """{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}}""");
    private static readonly byte[] RequestJson = Encoding.UTF8.GetBytes(
        """{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello there"}]}""");

    private DirectoryInfo _directory = null!;
    private HistoryJournal _journal = null!;
    private HistoryJournal _countOnly = null!;
    private AccountState _account = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("ccflare-journal-bench-");
        var dataProtection = new ServiceCollection();
        dataProtection.AddDataProtection();
        // Any store but the in-memory one opens the journal; this one forwards to it.
        var inner = DispatchProxy.Create<ICcflareStore, ForwardingStore>();
        ((ForwardingStore)(object)inner).Target = new InMemoryStore();
        var store = new AccountStore(inner, new SecretProtector(dataProtection.BuildServiceProvider().GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>()), NullLogger<AccountStore>.Instance);
        var registry = new AccountRegistry(new AccountStatePersister(store, TimeProvider.System, NullLogger<AccountStatePersister>.Instance));
        registry.Load([new Account { Id = "id-0", Name = "acc-0", Provider = "anthropic", ApiKey = "sk-ant-0", CreatedAt = DateTimeOffset.UnixEpoch }]);
        _account = registry.Find("id-0")!;
        var prices = new PriceTable(new Dictionary<string, ModelPrice>(), NullLogger<PriceTable>.Instance);
        _journal = new HistoryJournal(Options.Create(new CcflareOptions { HistoryJournalDirectory = _directory.FullName }), registry, TimeProvider.System, NullLogger<HistoryJournal>.Instance);
        _journal.OpenAsync(inner, store, prices, 500, CancellationToken.None).GetAwaiter().GetResult();
        _countOnly = new HistoryJournal(Options.Create(new CcflareOptions()), registry, TimeProvider.System, NullLogger<HistoryJournal>.Instance);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _journal.Dispose();
        _directory.Delete(recursive: true);
    }

    private ProxyExchange Exchange()
    {
        var body = RequestBodyBuffer.ReadAsync(new MemoryStream(RequestJson, writable: false), RequestJson.Length, 1 << 20, CancellationToken.None, exact: true).AsTask().GetAwaiter().GetResult()!;
        return new ProxyExchange
        {
            Id = Guid.CreateVersion7().ToString(),
            Timestamp = DateTimeOffset.UtcNow,
            Method = "POST",
            Path = "/v1/anthropic/v1/messages",
            StartTimestamp = Stopwatch.GetTimestamp(),
            Provider = "anthropic",
            UpstreamPath = "/v1/messages",
            StatusCode = 200,
            UpstreamStatus = 200,
            Account = _account,
            ResponseBody = ResponseJson,
            ResponseBodyLength = ResponseJson.Length,
            ResponseBodyPooled = false,
            RequestBodyOwner = body,
        };
    }

    [Benchmark(Baseline = true)]
    public bool CountOnly()
    {
        var exchange = Exchange();
        _countOnly.Acknowledge(exchange);
        return exchange.Acknowledged;
    }

    [Benchmark]
    public bool Journaled()
    {
        var exchange = Exchange();
        _journal.Acknowledge(exchange);
        _journal.Settle(exchange);
        return exchange.Acknowledged;
    }

    public class ForwardingStore : DispatchProxy
    {
        public ICcflareStore Target { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod!.Invoke(Target, args);
    }
}
