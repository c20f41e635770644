namespace Ccflare.Recording;

/// <summary>
/// Raw facts about one proxied request, filled on the request path and turned into a
/// <see cref="RequestRecord"/> (usage, cost, masking) by the background writer.
/// </summary>
internal sealed class ProxyExchange
{
    public required string Id { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required string Method { get; init; }
    public required string Path { get; init; }
    public required long StartTimestamp { get; init; }
    public string? Provider { get; set; }
    public string? UpstreamPath { get; set; }
    public AccountState? Account { get; set; }
    public int? StatusCode { get; set; }
    public string? ErrorMessage { get; set; }
    public int FailoverAttempts { get; set; }
    public bool RateLimited { get; set; }
    public List<string>? AccountsAttempted { get; set; }
    public string? UserId { get; set; }
    public string? ClientSessionId { get; set; }
    public string? Model { get; set; }

    /// <summary>Stopwatch ticks spent waiting for upstream response headers, summed over attempts.</summary>
    public long UpstreamWaitTicks { get; set; }
    public double? UpstreamTtfbMs { get; set; }
    public double? FirstByteToClientMs { get; set; }
    public double? ResponseTimeMs { get; set; }
    public double? StreamingDurationMs { get; set; }
    public bool IsStreaming { get; set; }

    public KeyValuePair<string, string>[]? RequestHeaders { get; set; }
    public int? UpstreamStatus { get; set; }
    public KeyValuePair<string, string>[]? ResponseHeaders { get; set; }
    /// <summary>Capture of the response body; valid for <see cref="ResponseBodyLength"/> bytes.</summary>
    public byte[]? ResponseBody { get; set; }
    public int ResponseBodyLength { get; set; }

    /// <summary>True when <see cref="ResponseBody"/> is rented from the shared pool (false: an exact array the payload may keep).</summary>
    public bool ResponseBodyPooled { get; set; } = true;
    public bool ResponseBodyTruncated { get; set; }

    /// <summary>The pooled request body, handed over for payload capture; released by the writer.</summary>
    public Proxy.RequestBodyBuffer? RequestBodyOwner { get; set; }

    /// <summary>Set when the write queue was full: the row is kept, the payload is not stored.</summary>
    public bool PayloadDropped { get; set; }

    /// <summary>Request fields read before the request body was released early (payload shedding).</summary>
    public Usage.RequestFields? RequestFields { get; set; }

    /// <summary>Request-body bytes counted against the write queue's byte bound while this waits in it.</summary>
    public int QueuedBodyBytes { get; set; }

    /// <summary>Admitted past the queue's capacity (payload dropped); releases an overflow slot when dequeued.</summary>
    public bool InOverflow { get; set; }

    /// <summary>Usage read from the response capture when the request was acknowledged; the writer reuses it.</summary>
    public Usage.UsageInfo? Usage { get; set; }

    /// <summary>Set once the request was counted on its account and journaled (<see cref="Journal.HistoryJournal.Acknowledge"/>).</summary>
    public bool Acknowledged { get; set; }

    /// <summary>The journal segment holding this request's row until the store has it.</summary>
    public Journal.JournalSegment? JournalSegment { get; set; }

    /// <summary>The request's trace activity, when tracing is on.</summary>
    public System.Diagnostics.Activity? Activity { get; set; }

    /// <summary>Returns pooled buffers. Called once the record has been built.</summary>
    public void Release()
    {
        RequestBodyOwner?.Dispose();
        RequestBodyOwner = null;
        if (ResponseBody is { } body)
        {
            ResponseBody = null;
            if (ResponseBodyPooled)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(body);
            }
        }
    }
}
