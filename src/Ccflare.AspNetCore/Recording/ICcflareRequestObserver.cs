namespace Ccflare;

/// <summary>
/// Receives every request record once it has been written to the store (off the proxy's hot
/// path, on the background writer). Register with <c>builder.AddRequestObserver&lt;T&gt;()</c>.
/// </summary>
/// <remarks>Keep it quick and never throw: slow observers delay later history writes. Hand heavy work to your own queue.</remarks>
public interface ICcflareRequestObserver
{
    /// <summary>Called after <paramref name="record"/> is stored. Payloads are included when capture is on.</summary>
    void OnRequestCompleted(RequestRecord record);
}
