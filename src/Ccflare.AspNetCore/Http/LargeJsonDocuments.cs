using System.Runtime.ExceptionServices;
using System.Text.Json;

namespace Ccflare.Http;

/// <summary>
/// Parses request bodies into documents without leaving body-sized buffers in the shared array pool.
/// System.Text.Json rents a metadata buffer about the size of the input (once it passes 4 MiB) and,
/// when the document turns out to need far less, returns it to <see cref="System.Buffers.ArrayPool{T}.Shared"/>
/// right after parsing, into the parsing thread's own slot. A pool thread keeps it there, and a
/// compacting collection makes its pages resident: after bursts of 30 MB compat requests, seven to
/// fourteen 32 MiB buffers (230 to 470 MiB) stayed in the working set. Large inputs are therefore
/// parsed on a short-lived thread of their own, whose slot is collected with it.
/// </summary>
internal static class LargeJsonDocuments
{
    /// <summary>Inputs up to this size are parsed in place (System.Text.Json rents at most 1 MiB for them).</summary>
    internal const int InPlaceMaxBytes = 4 * 1024 * 1024;

    /// <summary><see cref="JsonDocument.Parse(ReadOnlyMemory{byte}, JsonDocumentOptions)"/>, on a thread of its own for large inputs.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> json)
    {
        if (json.Length <= InPlaceMaxBytes)
        {
            return JsonDocument.Parse(json);
        }
        JsonDocument? document = null;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                document = JsonDocument.Parse(json);
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
        }, maxStackSize: 1024 * 1024)
        {
            IsBackground = true,
            Name = "Ccflare large JSON parse",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return document!;
    }
}
