using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Ccflare.Recording;

/// <summary>
/// The headers of a stored payload: lower-case names and masked values in the order they were
/// captured, looked up ignoring case. A read-only view over one array (the capture the exchange
/// already held, masked in place) instead of a dictionary with its buckets and entries per row.
/// </summary>
internal sealed class StoredHeaders : IReadOnlyDictionary<string, string>
{
    public static readonly StoredHeaders Empty = new([], 0);

    private readonly KeyValuePair<string, string>[] _items;
    private readonly int _count;

    private StoredHeaders(KeyValuePair<string, string>[] items, int count)
    {
        _items = items;
        _count = count;
    }

    /// <summary>Takes <paramref name="headers"/> over: rewrites each entry with <paramref name="entry"/>, and drops repeated names (the last one wins).</summary>
    public static StoredHeaders TakeOver<TState>(KeyValuePair<string, string>[] headers, TState state, Func<KeyValuePair<string, string>, TState, KeyValuePair<string, string>> entry)
    {
        var count = 0;
        foreach (var header in headers)
        {
            var stored = entry(header, state);
            var existing = IndexOf(headers, count, stored.Key);
            if (existing >= 0)
            {
                headers[existing] = stored;
            }
            else
            {
                headers[count++] = stored;
            }
        }
        return count == 0 ? Empty : new StoredHeaders(headers, count);
    }

    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No stored header '{key}'.");

    public IEnumerable<string> Keys => this.Select(static h => h.Key);

    public IEnumerable<string> Values => this.Select(static h => h.Value);

    public int Count => _count;

    public bool ContainsKey(string key) => IndexOf(_items, _count, key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        var index = IndexOf(_items, _count, key);
        value = index >= 0 ? _items[index].Value : null;
        return index >= 0;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            yield return _items[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static int IndexOf(KeyValuePair<string, string>[] items, int count, string key)
    {
        for (var i = 0; i < count; i++)
        {
            if (string.Equals(items[i].Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }
}
