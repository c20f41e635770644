using System.Buffers;
using Ccflare.Recording;

namespace Ccflare.Proxy;

/// <summary>
/// The capped copy of an upstream response body kept for usage parsing and the history, filled
/// as chunks pass through to the client. A mutable struct held by the copy loop: no allocation
/// of its own, pooled arrays except for small bodies of known length.
/// </summary>
internal struct CaptureTee
{
    /// <summary>Responses up to this size with a known length are captured into an exact array even without payload capture.</summary>
    public const int SmallCaptureBytes = 16 * 1024;

    private readonly int _limit;
    private byte[]? _capture;
    private bool _pooled;
    private int _captured;
    private bool _truncated;

    /// <param name="announcedLength">The upstream Content-Length, when known.</param>
    /// <param name="limit">Most bytes kept (<c>StreamBodyMaxBytes</c>).</param>
    /// <param name="exactMaxBytes">Largest announced length captured into an exact array the stored payload can keep.</param>
    public CaptureTee(long? announcedLength, int limit, int exactMaxBytes)
    {
        _limit = limit;
        _pooled = true;
        if (announcedLength is { } announced && announced > 0 && announced <= limit && announced <= exactMaxBytes)
        {
            // The length is known: an exact array the stored payload can keep as it is (no pool round trip across threads, no copy).
            _capture = GC.AllocateUninitializedArray<byte>((int)announced);
            _pooled = false;
        }
    }

    /// <summary>Keeps as much of <paramref name="chunk"/> as the limit allows.</summary>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        if (_captured >= _limit)
        {
            _truncated = true;
            return;
        }
        _capture ??= ArrayPool<byte>.Shared.Rent(Math.Min(_limit, Math.Max(chunk.Length, 4096)));
        var take = Math.Min(chunk.Length, _limit - _captured);
        if (_captured + take > _capture.Length)
        {
            Grow(_captured + take);
        }
        chunk[..take].CopyTo(_capture.AsSpan(_captured));
        _captured += take;
        _truncated |= take < chunk.Length;
    }

    private void Grow(int needed)
    {
        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(_limit, Math.Max(_capture!.Length * 2, needed)));
        _capture.AsSpan(0, _captured).CopyTo(larger);
        if (_pooled)
        {
            ArrayPool<byte>.Shared.Return(_capture);
        }
        _capture = larger;
        _pooled = true;
    }

    /// <summary>Hands the capture to the exchange, which returns a pooled array once the record is built.</summary>
    public readonly void HandTo(ProxyExchange exchange)
    {
        exchange.ResponseBody = _capture;
        exchange.ResponseBodyLength = _captured;
        exchange.ResponseBodyPooled = _pooled;
        if (_truncated)
        {
            exchange.ResponseBodyTruncated = true;
        }
    }
}
