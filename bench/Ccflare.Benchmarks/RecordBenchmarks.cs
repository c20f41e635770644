using System.Buffers;
using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using Ccflare.Pricing;
using Ccflare.Proxy;
using Ccflare.Recording;
using Ccflare.Usage;
using Microsoft.Extensions.Options;

namespace Ccflare.Benchmarks;

/// <summary>
/// What history costs per request with payload capture on: reading the body into the proxy's
/// buffer, then (in the background writer) building the row: model, usage, cost, masked headers
/// and bodies. The SQLite insert itself is not included.
/// </summary>
[MemoryDiagnoser]
public class RecordBenchmarks
{
    private static readonly byte[] ResponseJson = Encoding.UTF8.GetBytes(
        """{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10}}""");

    private readonly PriceTable _prices = new(Options.Create(new CcflareOptions()), Microsoft.Extensions.Logging.Abstractions.NullLogger<PriceTable>.Instance, TimeProvider.System);
    private readonly ResponseChains _chains = new();
    private byte[] _body = [];
    private KeyValuePair<string, string>[] _requestHeaders = [];
    private KeyValuePair<string, string>[] _responseHeaders = [];

    /// <summary>Request body size: a small chat turn, or a 1 MiB prompt.</summary>
    [Params(100, 1024 * 1024)]
    public int BodyBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        const string Prefix = """{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":" """;
        const string Suffix = "\"}]}";
        _body = Encoding.UTF8.GetBytes(Prefix + new string('a', Math.Max(1, BodyBytes - Prefix.Length - Suffix.Length)) + Suffix);
        _requestHeaders =
        [
            new("x-api-key", "sk-ant-api03-benchmark-secret-key-0000"),
            new("anthropic-version", "2023-06-01"),
            new("User-Agent", "claude-cli/2.0.0 (external, cli)"),
            new("Accept", "application/json"),
            new("Content-Type", "application/json"),
        ];
        _responseHeaders =
        [
            new("Date", "Thu, 26 Nov 2026 12:00:00 GMT"),
            new("request-id", "req_011CPMxVSzxkqQbZ1KmXGB3q"),
            new("anthropic-ratelimit-unified-status", "allowed"),
            new("Content-Type", "application/json"),
            new("Content-Length", "340"),
        ];
    }

    [Benchmark]
    public async Task<RequestRecord> ReadBodyAndBuildRecord()
    {
        using var stream = new MemoryStream(_body, writable: false);
        var body = await RequestBodyBuffer.ReadAsync(stream, _body.Length, 32 * 1024 * 1024, CancellationToken.None, exact: _body.Length <= 64 * 1024).ConfigureAwait(false);
        var capture = ArrayPool<byte>.Shared.Rent(ResponseJson.Length);
        ResponseJson.CopyTo(capture, 0);
        var exchange = new ProxyExchange
        {
            Id = Guid.NewGuid().ToString(),
            Timestamp = DateTimeOffset.UnixEpoch,
            Method = "POST",
            Path = "/v1/anthropic/v1/messages",
            StartTimestamp = Stopwatch.GetTimestamp(),
            Provider = "anthropic",
            UpstreamPath = "/v1/messages",
            StatusCode = 200,
            UpstreamStatus = 200,
            ResponseTimeMs = 12.5,
            RequestHeaders = _requestHeaders,
            ResponseHeaders = _responseHeaders,
            ResponseBody = capture,
            ResponseBodyLength = ResponseJson.Length,
            RequestBodyOwner = body,
        };
        try
        {
            return RecordBuilder.Build(exchange, capturePayloads: true, _prices, _chains, out _);
        }
        finally
        {
            exchange.Release();
        }
    }
}
