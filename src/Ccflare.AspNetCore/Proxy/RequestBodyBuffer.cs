using System.Buffers;
using System.Net;

namespace Ccflare.Proxy;

/// <summary>
/// The client's request body, read once so that a failover can send it again: into pooled
/// memory (returned on dispose), or, when the length is announced and the caller will keep the
/// bytes (payload capture), into an exact-size array that <see cref="DetachArray"/> hands over
/// without a copy.
/// </summary>
internal sealed class RequestBodyBuffer : IDisposable
{
    private byte[] _buffer;
    private int _length;
    private readonly bool _pooled;

    private RequestBodyBuffer(byte[] buffer, int length, bool pooled)
    {
        _buffer = buffer;
        _length = length;
        _pooled = pooled;
    }

    public static RequestBodyBuffer Empty { get; } = new([], 0, pooled: false);

    /// <summary>Bodies longer than this (with an announced length) get an array of their own instead of a pooled one.</summary>
    public const int LargeBodyBytes = 4 * 1024 * 1024;

    public int Length => _length;

    private static long s_largeBytesReleased;

    /// <summary>
    /// Bytes of bodies longer than <see cref="LargeBodyBytes"/> released since start, wherever they were
    /// released (the writer, a shed payload, a rejected compat request): the cue for handing memory back.
    /// </summary>
    internal static long LargeBytesReleased => Interlocked.Read(ref s_largeBytesReleased);

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);

    /// <summary>
    /// Reads the whole body, or returns null when it exceeds <paramref name="maxBytes"/>. With
    /// <paramref name="exact"/> and a known length the bytes land in an unpooled array of exactly that length.
    /// </summary>
    public static async ValueTask<RequestBodyBuffer?> ReadAsync(Stream body, long? contentLength, long maxBytes, CancellationToken cancellationToken, bool exact = false)
    {
        if (contentLength > maxBytes)
        {
            return null;
        }
        if (contentLength == 0)
        {
            return Empty;
        }
        // Large bodies are not pooled: the shared pool would keep tens of megabytes per core resident long after a burst.
        if ((exact || contentLength > LargeBodyBytes) && contentLength > 0 && contentLength <= Array.MaxLength)
        {
            return await ReadExactAsync(body, (int)contentLength.Value, cancellationToken).ConfigureAwait(false);
        }

        var initial = contentLength is > 0 ? (int)contentLength.Value : 16 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(initial);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length >= maxBytes + 1)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return null;
                    }
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > maxBytes)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return null;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (length == 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return Empty;
        }
        return new RequestBodyBuffer(buffer, length, pooled: true);
    }

    private static async ValueTask<RequestBodyBuffer?> ReadExactAsync(Stream body, int length, CancellationToken cancellationToken)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(length);
        var read = 0;
        while (read < length)
        {
            var n = await body.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                // Kestrel enforces Content-Length, so a short body means the client went away mid-request.
                throw new IOException("The request body ended before its announced length.");
            }
            read += n;
        }
        return new RequestBodyBuffer(buffer, length, pooled: false);
    }

    /// <summary>
    /// The bytes as an array of exactly <see cref="Length"/> that the caller may keep: the buffer
    /// itself when it is exact and unpooled (this buffer is then empty), otherwise a copy.
    /// </summary>
    public byte[] DetachArray()
    {
        var buffer = _buffer;
        if (!_pooled && buffer.Length == _length)
        {
            _buffer = [];
            _length = 0;
            return buffer;
        }
        return Span.ToArray();
    }

    public HttpContent CreateContent() => new BufferContent(this);

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > LargeBodyBytes)
        {
            Interlocked.Add(ref s_largeBytesReleased, buffer.Length);
        }
        if (_pooled && buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        _length = 0;
    }

    private sealed class BufferContent(RequestBodyBuffer owner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            UpstreamBodyContent.WriteAsync(stream, owner.Memory, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = owner.Length;
            return true;
        }
    }
}
