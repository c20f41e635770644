using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Ccflare.Security;

/// <summary>
/// Refuses account base URLs that would turn the proxy on this server or on the machine's surroundings:
/// <list type="bullet">
/// <item>this server's own listeners (a loop, or a way for remote callers to reach the loopback-only
/// management API through the proxy), always;</item>
/// <item>link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10, <c>fd00:ec2::254</c>) and
/// numeric spellings of IPv4 addresses (<c>0x7f000001</c>, <c>2130706433</c>, <c>127.1</c>), unless
/// <see cref="CcflareOptions.AllowPrivateBaseUrls"/> is on.</item>
/// </list>
/// Loopback upstreams on other ports (a local gateway, a test double) stay allowed. Host names are resolved
/// once, here; a name that does not resolve is accepted (the upstream may be reachable only later), and the
/// hop marker still stops any loop at run time.
/// </summary>
internal sealed class BaseUrlGuard(IOptions<CcflareOptions> options, IServer? server = null)
{
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(2);
    private static readonly IPAddress AwsMetadataV6 = IPAddress.Parse("fd00:ec2::254");

    /// <summary>Returns why <paramref name="baseUrl"/> is refused, or null when it may be used.</summary>
    public async ValueTask<string?> CheckAsync(string? baseUrl, CancellationToken cancellationToken)
    {
        if (baseUrl is null || !Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri))
        {
            return null;
        }
        var allowPrivate = options.Value.AllowPrivateBaseUrls;
        if (!allowPrivate && uri.HostNameType == UriHostNameType.IPv4 && !IsDottedDecimal(RawHost(baseUrl)))
        {
            return $"base_url host '{RawHost(baseUrl)}' is a numeric spelling of {uri.Host}; write the address as {uri.Host}.";
        }
        var addresses = await ResolveAsync(uri, cancellationToken).ConfigureAwait(false);
        var listenerPorts = ListenerPorts();
        foreach (var raw in addresses)
        {
            var address = raw.IsIPv4MappedToIPv6 ? raw.MapToIPv4() : raw;
            if (listenerPorts.Contains(uri.Port) && IsThisMachine(address))
            {
                return $"base_url {uri.GetLeftPart(UriPartial.Authority)} is this server's own listener; an account cannot forward to Ccflare itself.";
            }
            if (!allowPrivate && IsLinkLocalOrMetadata(address))
            {
                return $"base_url {uri.GetLeftPart(UriPartial.Authority)} is a link-local or cloud-metadata address ({address}); set Ccflare:AllowPrivateBaseUrls to allow it.";
            }
        }
        return null;
    }

    internal static bool IsLinkLocalOrMetadata(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> bytes = stackalloc byte[4];
            address.TryWriteBytes(bytes, out _);
            return bytes[0] == 169 && bytes[1] == 254;
        }
        return address.IsIPv6LinkLocal || address.Equals(AwsMetadataV6);
    }

    private static bool IsThisMachine(IPAddress address)
    {
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    if (unicast.Address.Equals(address))
                    {
                        return true;
                    }
                }
            }
        }
        catch (NetworkInformationException)
        {
        }
        return false;
    }

    private HashSet<int> ListenerPorts()
    {
        var ports = new HashSet<int>();
        if (server?.Features.Get<IServerAddressesFeature>() is { } feature)
        {
            foreach (var address in feature.Addresses)
            {
                try
                {
                    ports.Add(BindingAddress.Parse(address).Port);
                }
                catch (FormatException)
                {
                }
            }
        }
        return ports;
    }

    private static async Task<IPAddress[]> ResolveAsync(Uri uri, CancellationToken cancellationToken)
    {
        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            return [IPAddress.Parse(uri.Host.Trim('[', ']'))];
        }
        var host = uri.IdnHost;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return [IPAddress.Loopback, IPAddress.IPv6Loopback];
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ResolveTimeout);
        try
        {
            return await Dns.GetHostAddressesAsync(host, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return [];
        }
    }

    /// <summary>The host as written in the URL (Uri rewrites numeric spellings to dotted decimal).</summary>
    private static string RawHost(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var end = url.IndexOfAny(['/', '?', '#'], start);
        var authority = end < 0 ? url[start..] : url[start..end];
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            authority = authority[(at + 1)..];
        }
        var colon = authority.LastIndexOf(':');
        return colon >= 0 ? authority[..colon] : authority;
    }

    private static bool IsDottedDecimal(string host)
    {
        var parts = host.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !int.TryParse(part, System.Globalization.NumberStyles.None, null, out var value) || value > 255)
            {
                return false;
            }
        }
        return true;
    }
}
