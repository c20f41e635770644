using System.Threading.Channels;

namespace Ccflare.Recording;

/// <summary>
/// Fan-out of live events to SSE subscribers. Publishing never blocks and never allocates
/// when nobody listens: each subscriber has a small bounded queue that drops its oldest
/// events when the client reads too slowly, so a slow client can never hold up the proxy.
/// </summary>
internal sealed class LiveEvents<T>
{
    private readonly Lock _gate = new();
    private readonly int _capacity;
    private Subscription[] _subscribers = [];

    public LiveEvents(int capacity = 256)
    {
        _capacity = capacity;
    }

    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    public bool HasSubscribers => Volatile.Read(ref _subscribers).Length > 0;

    public void Publish(T item)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Channel.Writer.TryWrite(item);
        }
    }

    /// <summary>Adds a subscriber; dispose the result to unsubscribe.</summary>
    public Subscription Subscribe()
    {
        var subscription = new Subscription(this, Channel.CreateBounded<T>(new BoundedChannelOptions(_capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
        }));
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscription];
        }
        return subscription;
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _subscribers = Array.FindAll(_subscribers, s => !ReferenceEquals(s, subscription));
        }
        subscription.Channel.Writer.TryComplete();
    }

    /// <summary>One subscriber's queue.</summary>
    internal sealed class Subscription(LiveEvents<T> owner, Channel<T> channel) : IDisposable
    {
        internal Channel<T> Channel { get; } = channel;

        public ChannelReader<T> Reader => Channel.Reader;

        public void Dispose() => owner.Remove(this);
    }
}
