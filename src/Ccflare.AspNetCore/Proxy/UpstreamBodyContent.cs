using System.Buffers;
using System.Net;

namespace Ccflare.Proxy;

/// <summary>
/// A request body sent upstream from memory the proxy owns. Large bodies go out through a small
/// pooled chunk rather than as one buffer: the connection's socket keeps a reference to the last
/// buffer it sent until its next send, so a pooled upstream connection would otherwise hold a whole
/// 30 MB body alive while idle (measured: seven such arrays, 210 MB, still reachable after a burst).
/// </summary>
internal sealed class UpstreamBodyContent(ReadOnlyMemory<byte> body) : HttpContent
{
    /// <summary>Bodies up to this size are written in one call; larger ones in chunks of this size.</summary>
    internal const int ChunkBytes = 64 * 1024;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        WriteAsync(stream, body, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        WriteAsync(stream, body, cancellationToken);

    protected override bool TryComputeLength(out long length)
    {
        length = body.Length;
        return true;
    }

    /// <summary>Writes <paramref name="body"/>: directly when small, through a pooled chunk when large.</summary>
    internal static Task WriteAsync(Stream stream, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        body.Length <= ChunkBytes ? stream.WriteAsync(body, cancellationToken).AsTask() : WriteChunkedAsync(stream, body, cancellationToken);

    private static async Task WriteChunkedAsync(Stream stream, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            for (var offset = 0; offset < body.Length; offset += ChunkBytes)
            {
                var part = body.Slice(offset, Math.Min(ChunkBytes, body.Length - offset));
                part.Span.CopyTo(chunk);
                await stream.WriteAsync(chunk.AsMemory(0, part.Length), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}
