using System.Net;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;

namespace Ccflare.LoadBench;

/// <summary>
/// The limit we measure against: a bare YARP <see cref="IHttpForwarder"/> with no logic but
/// swapping in a credential, in a minimal host.
/// </summary>
internal static class YarpBaseline
{
    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(Args.Value(args, "--port") ?? "0");
        var upstream = Args.Value(args, "--upstream") ?? throw new ArgumentException("--upstream is required");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddHttpForwarder();
        var app = builder.Build();

        var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        });
        var transformer = HttpTransformer.Default;
        var config = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(10) };
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();

        app.Map("/v1/anthropic/{**rest}", async context =>
        {
            context.Request.Path = "/" + (context.Request.RouteValues["rest"] as string);
            context.Request.Headers["x-api-key"] = "baseline-key";
            await forwarder.SendAsync(context, upstream, invoker, config, transformer);
        });
        await app.RunAsync();
        return 0;
    }
}
