using System.Net.Sockets;
using System.Text;

namespace Ccflare.Tests.Infrastructure;

/// <summary>Sends bytes exactly as given (no client-side path normalisation) and returns the status code.</summary>
public static class RawHttp
{
    public static async Task<int> SendAsync(Uri server, string rawRequest)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(rawRequest));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)) ?? "";
        var parts = statusLine.Split(' ');
        return parts.Length > 1 && int.TryParse(parts[1], out var status) ? status : -1;
    }
}
