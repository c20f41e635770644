namespace Ccflare;

/// <summary>What the request path does when the background write queue is full.</summary>
public enum WriteQueueFullMode
{
    /// <summary>
    /// Default. Wait up to <see cref="CcflareOptions.WriteQueueFullWaitMs"/> for room (without
    /// blocking a thread), then keep the request row but drop its payload, and drop the row
    /// only when the overflow allowance is used up too.
    /// </summary>
    WaitThenDrop,

    /// <summary>Never wait: drop the payload at once, then the row when the overflow allowance is used up.</summary>
    Drop,
}
