namespace Ccflare.Proxy;

/// <summary>Checks the part of a proxy path that is appended to an account's base URL.</summary>
internal static class ProxyPath
{
    /// <summary>
    /// Returns an error message when <paramref name="rest"/> could leave the base URL:
    /// a dot-dot segment in any encoding, a backslash, an encoded slash, control characters
    /// or a leading double slash.
    /// </summary>
    public static string? Validate(ReadOnlySpan<char> rest)
    {
        if (rest.IsEmpty)
        {
            return null;
        }
        if (rest[0] != '/')
        {
            return "Path must start with '/'.";
        }
        if (rest.Length > 1 && rest[1] == '/')
        {
            return "Path must not start with '//'.";
        }
        foreach (var c in rest)
        {
            if (c == '\\')
            {
                return "Path must not contain backslashes.";
            }
            if (char.IsControl(c))
            {
                return "Path must not contain control characters.";
            }
        }
        if (rest.Contains("%2f", StringComparison.OrdinalIgnoreCase) || rest.Contains("%5c", StringComparison.OrdinalIgnoreCase))
        {
            return "Path must not contain encoded slashes.";
        }

        // Request.Path is already percent-decoded once; decode again to catch double encoding.
        var segments = rest[1..];
        while (true)
        {
            var slash = segments.IndexOf('/');
            var segment = slash < 0 ? segments : segments[..slash];
            if (IsDotSegment(segment))
            {
                return "Path must not contain '.' or '..' segments.";
            }
            if (slash < 0)
            {
                break;
            }
            segments = segments[(slash + 1)..];
        }
        return null;
    }

    private static bool IsDotSegment(ReadOnlySpan<char> segment)
    {
        if (segment.IsEmpty || segment.Length > 12)
        {
            return false;
        }
        if (segment.IndexOf('%') >= 0)
        {
            var decoded = Uri.UnescapeDataString(segment.ToString());
            return decoded != segment.ToString() && IsDotSegment(decoded);
        }
        return segment is "." or "..";
    }
}
