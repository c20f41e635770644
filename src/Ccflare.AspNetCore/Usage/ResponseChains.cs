namespace Ccflare.Usage;

/// <summary>
/// Links Responses API calls into chains: a response whose request named a
/// <c>previous_response_id</c> inherits that response's chain id; a response that starts a
/// conversation is its own chain. Remembers the most recent responses only (bounded), so a
/// chain that outlives the window restarts at the oldest id still known: its
/// <c>previous_response_id</c>. Used by the single background writer; not thread-safe.
/// </summary>
internal sealed class ResponseChains(int capacity = 50_000)
{
    private readonly Dictionary<string, string> _chainByResponse = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public string? Resolve(string? responseId, string? previousResponseId)
    {
        string? chain = null;
        if (previousResponseId is not null)
        {
            chain = _chainByResponse.TryGetValue(previousResponseId, out var known) ? known : previousResponseId;
        }
        else if (responseId is not null)
        {
            chain = responseId;
        }
        if (responseId is not null && chain is not null && _chainByResponse.TryAdd(responseId, chain))
        {
            _order.Enqueue(responseId);
            while (_order.Count > capacity)
            {
                _chainByResponse.Remove(_order.Dequeue());
            }
        }
        return chain;
    }
}
