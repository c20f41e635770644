namespace Ccflare.Pricing;

/// <summary>
/// What a model id says about its price: the dated snapshot it names, the alias it is, and the
/// family and version it belongs to (<c>claude-opus-4-8</c> is version 4.8 of <c>claude-opus-*</c>,
/// <c>gpt-5.4-mini</c> version 5.4 of <c>gpt-*-mini</c>).
/// </summary>
internal static class ModelId
{
    /// <summary>Lower case, without a provider prefix (<c>anthropic/</c>) or a context suffix (<c>[1m]</c>).</summary>
    public static string Normalize(string model)
    {
        var id = model.AsSpan().Trim();
        if (id.LastIndexOf('/') is var slash and >= 0)
        {
            id = id[(slash + 1)..];
        }
        if (id.EndsWith("]") && id.LastIndexOf('[') is var bracket and > 0)
        {
            id = id[..bracket];
        }
        return id.ToString().ToLowerInvariant();
    }

    /// <summary>
    /// The id without a snapshot date (<c>claude-sonnet-4-5-20250929</c>, <c>gpt-5-2025-08-07</c>)
    /// or an alias suffix (<c>-latest</c>, Anthropic's <c>-0</c> of <c>claude-opus-4-0</c>); null when it has neither.
    /// </summary>
    public static string? WithoutSuffix(string id)
    {
        var span = id.AsSpan();
        if (span.Length > 9 && span[^9] == '-' && AllDigits(span[^8..]))
        {
            return id[..^9];
        }
        if (span.Length > 11 && span[^11] == '-' && AllDigits(span[^10..^6]) && span[^6] == '-' && AllDigits(span[^5..^3]) && span[^3] == '-' && AllDigits(span[^2..]))
        {
            return id[..^11];
        }
        if (span.EndsWith("-latest", StringComparison.Ordinal) && span.Length > 7)
        {
            return id[..^7];
        }
        if (span.EndsWith("-0", StringComparison.Ordinal) && span.Length > 2)
        {
            return id[..^2];
        }
        return null;
    }

    /// <summary>
    /// The family of <paramref name="id"/> (version numbers replaced by <c>*</c>) and its version, or
    /// false when the id carries no version number.
    /// </summary>
    public static bool TryFamily(string id, out string family, out int[] version)
    {
        family = string.Empty;
        version = [];
        var parts = id.Split('-');
        var numbers = new List<int>(4);
        var names = new List<string>(parts.Length);
        var previousWasVersion = false;
        foreach (var part in parts)
        {
            if (IsVersion(part))
            {
                foreach (var number in part.Split('.', StringSplitOptions.RemoveEmptyEntries))
                {
                    numbers.Add(int.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue);
                }
                if (!previousWasVersion)
                {
                    names.Add("*");
                }
                previousWasVersion = true;
            }
            else
            {
                names.Add(part);
                previousWasVersion = false;
            }
        }
        if (numbers.Count == 0)
        {
            return false;
        }
        family = string.Join('-', names);
        version = [.. numbers];
        return true;
    }

    /// <summary>Orders versions number by number; a missing number counts as 0 (<c>4</c> equals <c>4.0</c>).</summary>
    public static int CompareVersions(int[] left, int[] right)
    {
        for (var i = 0; i < Math.Max(left.Length, right.Length); i++)
        {
            var l = i < left.Length ? left[i] : 0;
            var r = i < right.Length ? right[i] : 0;
            if (l != r)
            {
                return l.CompareTo(r);
            }
        }
        return 0;
    }

    private static bool IsVersion(string part) =>
        part.Length > 0 && char.IsAsciiDigit(part[0]) && !part.AsSpan().ContainsAnyExcept("0123456789.");

    private static bool AllDigits(ReadOnlySpan<char> span) => !span.IsEmpty && !span.ContainsAnyExceptInRange('0', '9');
}
