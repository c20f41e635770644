using System.Buffers;
using System.Text;
using System.Text.Json;
using Ccflare.Proxy;
using Ccflare.Recording;
using Ccflare.Recording.Journal;
using Ccflare.Tests.Infrastructure;
using Ccflare.Usage;

namespace Ccflare.Tests.History;

/// <summary>
/// The journal writes its line straight from the exchange (no row is built for it); what the replay
/// reads back must be the row the writer builds, and the stored headers what the dictionary was.
/// </summary>
public sealed class JournalLineTests
{
    private static ProxyExchange Exchange(bool withAccount)
    {
        var requestJson = """{"model":"claude-sonnet-4-5","previous_response_id":"resp_0","messages":[]}"""u8.ToArray();
        var body = RequestBodyBuffer.ReadAsync(new MemoryStream(requestJson), requestJson.Length, 1 << 20, default, exact: true).AsTask().GetAwaiter().GetResult()!;
        var response = Encoding.UTF8.GetBytes(WireFormats.AnthropicMessage("claude-sonnet-4-5-20250929", "hi", inputTokens: 21, outputTokens: 8));
        return new ProxyExchange
        {
            Id = "0193a7c4-0000-7000-8000-000000000001",
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1_764_800_000_123),
            Method = "POST",
            Path = "/v1/anthropic/v1/messages?beta=true",
            StartTimestamp = 0,
            Provider = "anthropic",
            UpstreamPath = "/v1/messages?beta=true",
            Account = withAccount ? new AccountState(new Account { Id = "acc-1", Name = "primary", Provider = "anthropic", ApiKey = "sk-ant-secret-0001", CreatedAt = DateTimeOffset.UnixEpoch, TotalRequests = 41 }) : null,
            StatusCode = 200,
            UpstreamStatus = 200,
            FailoverAttempts = 1,
            UserId = "user-7",
            ClientSessionId = "session-9",
            UpstreamWaitTicks = System.Diagnostics.Stopwatch.Frequency / 100,
            UpstreamTtfbMs = 7.25,
            FirstByteToClientMs = 9.5,
            ResponseTimeMs = 12.125,
            ResponseBody = response,
            ResponseBodyLength = response.Length,
            ResponseBodyPooled = false,
            RequestBodyOwner = body,
        };
    }

    private static byte[] Line(ProxyExchange exchange, JournaledCounters? counters)
    {
        exchange.Usage = UsageParser.Parse(exchange.ResponseBody.AsMemory(0, exchange.ResponseBodyLength), exchange.IsStreaming);
        exchange.RequestFields = RequestFields.Read(exchange.RequestBodyOwner!.Span);
        var buffer = new ArrayBufferWriter<byte>();
        using var json = new Utf8JsonWriter(buffer);
        JournalLineFormat.WriteRow(json, exchange, exchange.Usage, exchange.RequestFields.Value);
        JournalLineFormat.WriteEnd(json, counters);
        json.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_line_written_from_the_exchange_reads_back_as_the_row_the_writer_builds(bool withAccount)
    {
        var exchange = Exchange(withAccount);
        var counters = withAccount ? new JournaledCounters("acc-1", 42, 5, 3, DateTimeOffset.FromUnixTimeMilliseconds(1_764_800_000_500)) : (JournaledCounters?)null;

        var read = JournalLineFormat.Read(Line(exchange, counters));
        var built = RecordBuilder.Build(exchange, capturePayloads: false);

        Assert.NotNull(read);
        Assert.Equal(UsageFormat.AnthropicMessages, read.Format);
        Assert.Equal(counters, read.Counters);
        // The journal keeps milliseconds to three decimals.
        var expected = built with
        {
            ProxyOverheadMs = Math.Round(built.ProxyOverheadMs!.Value, 3),
            OutputTokensPerSecond = Math.Round(built.OutputTokensPerSecond!.Value, 3),
        };
        Assert.Equal(expected, read.Row);
        Assert.Equal("claude-sonnet-4-5-20250929", read.Row.Model);
        Assert.Equal(21, read.Row.PromptTokens);
        Assert.Equal(8, read.Row.OutputTokens);
        Assert.Equal("resp_0", read.Row.PreviousResponseId);
        Assert.Equal(withAccount ? "primary" : null, read.Row.AccountName);
    }

    [Fact]
    public void Stored_headers_are_lower_case_masked_looked_up_ignoring_case_and_keep_the_last_of_a_repeated_name()
    {
        var exchange = Exchange(withAccount: true);
        exchange.RequestHeaders =
        [
            new("Content-Type", "application/json"),
            new("x-api-key", "sk-ant-secret-0001"),
            new("X-Trace", "carries sk-ant-secret-0001 inside"),
            new("x-trace", "second"),
        ];
        exchange.ResponseHeaders = [];

        var payload = RecordBuilder.Build(exchange, capturePayloads: true).Payload!;

        var headers = payload.RequestHeaders;
        Assert.Equal(3, headers.Count);
        Assert.Equal(["content-type", "x-api-key", "x-trace"], headers.Keys);
        Assert.Equal("application/json", headers["CONTENT-TYPE"]);
        Assert.True(headers.TryGetValue("X-Api-Key", out var key));
        Assert.DoesNotContain("secret-0001", key);
        Assert.Equal("second", headers["x-trace"]);
        Assert.False(headers.ContainsKey("authorization"));
        Assert.Throws<KeyNotFoundException>(() => headers["authorization"]);
        Assert.Empty(payload.ResponseHeaders);
        // The payload took the captures over; the exchange no longer holds them.
        Assert.Null(exchange.RequestHeaders);
        // Serialised like the dictionary it replaces.
        Assert.Equal("""{"content-type":"application/json","x-api-key":"KEY","x-trace":"second"}""",
            JsonSerializer.Serialize(headers).Replace(key, "KEY", StringComparison.Ordinal));
    }
}
