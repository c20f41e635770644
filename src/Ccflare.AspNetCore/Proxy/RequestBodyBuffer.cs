using System.Buffers;
using System.Net;

namespace Ccflare.Proxy;

/// <summary>
/// The client's request body, read once into pooled memory so that a failover can send it
/// again. Returned to the pool on dispose.
/// </summary>
internal sealed class RequestBodyBuffer : IDisposable
{
    private byte[] _buffer;
    private int _length;

    private RequestBodyBuffer(byte[] buffer, int length)
    {
        _buffer = buffer;
        _length = length;
    }

    public static RequestBodyBuffer Empty { get; } = new([], 0);

    public int Length => _length;

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);

    /// <summary>Reads the whole body, or returns null when it exceeds <paramref name="maxBytes"/>.</summary>
    public static async ValueTask<RequestBodyBuffer?> ReadAsync(Stream body, long? contentLength, long maxBytes, CancellationToken cancellationToken)
    {
        if (contentLength > maxBytes)
        {
            return null;
        }
        if (contentLength == 0)
        {
            return Empty;
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
        return new RequestBodyBuffer(buffer, length);
    }

    public HttpContent CreateContent() => new BufferContent(this);

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        _length = 0;
    }

    private sealed class BufferContent(RequestBodyBuffer owner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            stream.WriteAsync(owner.Memory).AsTask();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            stream.WriteAsync(owner.Memory, cancellationToken).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = owner.Length;
            return true;
        }
    }
}
