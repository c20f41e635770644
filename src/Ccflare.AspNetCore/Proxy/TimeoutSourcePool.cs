using System.Collections.Concurrent;

namespace Ccflare.Proxy;

/// <summary>
/// Reusable cancellation sources for the upstream headers timeout, each linked to one request's
/// abort token. Saves the linked source, its registrations and a fresh timer on every attempt.
/// </summary>
internal sealed class TimeoutSourcePool
{
    private const int MaxPooled = 256;
    private readonly ConcurrentQueue<CancellationTokenSource> _pool = new();
    private int _pooled;

    /// <summary>A source that cancels after <paramref name="timeoutMs"/> or when <paramref name="requestAborted"/> fires.</summary>
    public Lease Rent(CancellationToken requestAborted, int timeoutMs)
    {
        if (_pool.TryDequeue(out var source))
        {
            Interlocked.Decrement(ref _pooled);
        }
        else
        {
            source = new CancellationTokenSource();
        }
        source.CancelAfter(timeoutMs);
        var registration = requestAborted.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), source);
        return new Lease(this, source, registration);
    }

    private void Return(CancellationTokenSource source, CancellationTokenRegistration registration)
    {
        // Disposing waits for a running abort callback, so the source is quiet before it is reset.
        registration.Dispose();
        if (source.TryReset())
        {
            if (Interlocked.Increment(ref _pooled) <= MaxPooled)
            {
                _pool.Enqueue(source);
                return;
            }
            Interlocked.Decrement(ref _pooled);
        }
        source.Dispose();
    }

    /// <summary>One rented source; dispose to give it back.</summary>
    public readonly struct Lease(TimeoutSourcePool pool, CancellationTokenSource source, CancellationTokenRegistration registration) : IDisposable
    {
        public CancellationToken Token => source.Token;

        /// <summary>Stops the timer (the response headers arrived); the abort link stays.</summary>
        public void DisarmTimer() => source.CancelAfter(Timeout.Infinite);

        public void Dispose() => pool.Return(source, registration);
    }
}
