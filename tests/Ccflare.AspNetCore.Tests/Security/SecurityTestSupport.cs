using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Ccflare.Tests.Security;

/// <summary>A response read from a raw socket.</summary>
public sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body, bool Closed)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>Sends hand-written HTTP/1.1 requests, byte for byte, so that Kestrel and Ccflare see exactly what an attacker would send.</summary>
public static class RawHttp
{
    public static Task<RawResponse> SendAsync(Uri baseUrl, string request, TimeSpan? timeout = null) =>
        SendAsync(baseUrl, Encoding.Latin1.GetBytes(request), timeout);

    public static async Task<RawResponse> SendAsync(Uri baseUrl, byte[] request, TimeSpan? timeout = null, bool halfClose = false)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        using var client = new TcpClient(baseUrl.HostNameType == UriHostNameType.IPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Parse(baseUrl.Host.Trim('[', ']')), baseUrl.Port, cts.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, cts.Token);
            if (halfClose)
            {
                client.Client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (IOException)
        {
            // The server may close before reading everything (e.g. oversized headers); read what it sent.
        }
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(chunk, cts.Token);
                if (read == 0)
                {
                    break;
                }
                buffer.Write(chunk, 0, read);
                if (TryParse(buffer.ToArray(), out var complete) && complete is not null)
                {
                    return complete;
                }
            }
        }
        catch (IOException)
        {
        }
        return Parse(buffer.ToArray(), closed: true);
    }

    private static bool TryParse(byte[] data, out RawResponse? response)
    {
        response = null;
        var text = Encoding.Latin1.GetString(data);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }
        var head = Parse(data, closed: false, headOnly: true);
        var bodyText = text[(end + 4)..];
        if (head.Header("content-length") is { } lengthText && int.TryParse(lengthText, out var length))
        {
            if (Encoding.Latin1.GetByteCount(bodyText) >= length)
            {
                response = head with { Body = Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(bodyText[..length])) };
                return true;
            }
            return false;
        }
        if (string.Equals(head.Header("transfer-encoding"), "chunked", StringComparison.OrdinalIgnoreCase))
        {
            if (bodyText.EndsWith("0\r\n\r\n", StringComparison.Ordinal))
            {
                response = head with { Body = Dechunk(bodyText) };
                return true;
            }
            return false;
        }
        if (head.Status is 204 or 304 || (head.Status >= 100 && head.Status < 200))
        {
            response = head;
            return true;
        }
        return false;
    }

    private static RawResponse Parse(byte[] data, bool closed, bool headOnly = false)
    {
        var text = Encoding.Latin1.GetString(data);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (text.Length == 0 || end < 0)
        {
            return new RawResponse(0, new Dictionary<string, string>(), "", closed);
        }
        var lines = text[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1]);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < lines.Length; i++)
        {
            var colon = lines[i].IndexOf(':');
            if (colon > 0)
            {
                headers[lines[i][..colon].Trim()] = lines[i][(colon + 1)..].Trim();
            }
        }
        var body = headOnly ? "" : text[(end + 4)..];
        if (!headOnly && headers.TryGetValue("transfer-encoding", out var te) && te.Equals("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }
        return new RawResponse(status, headers, headOnly ? "" : Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(body)), closed);
    }

    private static string Dechunk(string body)
    {
        var result = new StringBuilder();
        var position = 0;
        while (position < body.Length)
        {
            var lineEnd = body.IndexOf("\r\n", position, StringComparison.Ordinal);
            if (lineEnd < 0)
            {
                break;
            }
            var size = Convert.ToInt32(body[position..lineEnd].Split(';')[0], 16);
            if (size == 0)
            {
                break;
            }
            result.Append(body, lineEnd + 2, Math.Min(size, body.Length - lineEnd - 2));
            position = lineEnd + 2 + size + 2;
        }
        return result.ToString();
    }
}

public static class Network
{
    /// <summary>An IPv4 address of this machine that is not loopback (e.g. eth0's), or null in a loopback-only sandbox.</summary>
    public static IPAddress? NonLoopbackAddress()
    {
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }
            foreach (var address in nic.GetIPProperties().UnicastAddresses)
            {
                if (address.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address.Address))
                {
                    return address.Address;
                }
            }
        }
        return null;
    }
}

public static class ErrorJson
{
    /// <summary>Asserts that <paramref name="body"/> is Ccflare's error shape and returns the message.</summary>
    public static string AssertError(string body)
    {
        using var json = JsonDocument.Parse(body);
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        Assert.True(json.RootElement.TryGetProperty("error", out var error), body);
        Assert.Equal(JsonValueKind.String, error.ValueKind);
        var message = error.GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(message));
        return message;
    }

    public static bool IsError(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.String
                && !string.IsNullOrWhiteSpace(error.GetString());
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>True when the text looks like a .NET stack trace or exception dump.</summary>
    public static bool LooksLikeStackTrace(string body) =>
        body.Contains("   at ", StringComparison.Ordinal)
        || body.Contains("Exception:", StringComparison.Ordinal)
        || body.Contains(".cs:line", StringComparison.Ordinal)
        || body.Contains("System.", StringComparison.Ordinal) && body.Contains("Exception", StringComparison.Ordinal);
}

/// <summary>Keeps every log line (message, state values, exception text) written through it.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public string AllText() => string.Join("\n", Lines);

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            owner.Lines.Enqueue($"scope {category}: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = new StringBuilder($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)}");
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    line.Append(' ').Append(key).Append('=').Append(value);
                }
            }
            if (exception is not null)
            {
                line.Append('\n').Append(exception);
            }
            owner.Lines.Enqueue(line.ToString());
        }
    }
}

/// <summary>Counts calls per method name on any interface (used to prove the proxy does not touch the store).</summary>
public class CountingProxy<T> : DispatchProxy where T : class
{
    public T Inner { get; set; } = null!;

    public ConcurrentDictionary<string, int> Calls { get; } = new();

    public static (T Proxy, CountingProxy<T> Counter) Wrap(T inner)
    {
        var proxy = Create<T, CountingProxy<T>>();
        var counter = (CountingProxy<T>)(object)proxy;
        counter.Inner = inner;
        return (proxy, counter);
    }

    public int Count(string method) => Calls.TryGetValue(method, out var count) ? count : 0;

    /// <summary>When it returns an exception for a method name, the call throws it instead.</summary>
    public Func<string, Exception?>? Fault { get; set; }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        Calls.AddOrUpdate(targetMethod!.Name, 1, static (_, c) => c + 1);
        if (Fault?.Invoke(targetMethod.Name) is { } fault)
        {
            throw fault;
        }
        try
        {
            return targetMethod.Invoke(Inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }
}
