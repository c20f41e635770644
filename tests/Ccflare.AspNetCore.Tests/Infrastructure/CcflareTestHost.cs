using System.Net.Http.Json;
using System.Text.Json;
using Ccflare.Recording;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.Infrastructure;

/// <summary>A real Kestrel Ccflare on 127.0.0.1 for end-to-end tests.</summary>
public sealed class CcflareTestHost : IAsyncDisposable
{
    private CcflareTestHost(WebApplication app, string baseUrl, FakeTimeProvider? time)
    {
        App = app;
        BaseUrl = baseUrl;
        Time = time;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl) };
    }

    public WebApplication App { get; }

    public IServiceProvider Services => App.Services;

    public string BaseUrl { get; }

    public HttpClient Client { get; }

    /// <summary>The fake clock, when the host was started with one.</summary>
    public FakeTimeProvider? Time { get; }

    public static async Task<CcflareTestHost> StartAsync(
        Action<CcflareOptions>? configure = null,
        Action<ICcflareBuilder>? build = null,
        FakeTimeProvider? time = null,
        Action<WebApplicationBuilder>? host = null,
        Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        if (time is not null)
        {
            builder.Services.AddSingleton<TimeProvider>(time);
        }
        var ccflare = builder.Services.AddCcflare(configure);
        build?.Invoke(ccflare);
        host?.Invoke(builder);
        var app = builder.Build();
        if (map is not null)
        {
            map(app);
        }
        else
        {
            app.MapCcflare();
        }
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new CcflareTestHost(app, address, time);
    }

    /// <summary>Adds an API-key account through the management API and returns its id.</summary>
    public async Task<string> AddAccountAsync(string name, string provider, string apiKey, string baseUrl, int? weight = null)
    {
        using var response = await Client.PostAsJsonAsync("/api/accounts", new { name, provider, api_key = apiKey, base_url = baseUrl, weight });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("account").GetProperty("id").GetString()!;
    }

    /// <summary>Waits until every finished request has been written to the store.</summary>
    public async Task DrainHistoryAsync()
    {
        var recorder = Services.GetRequiredService<RequestRecorder>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (recorder.InFlight > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        await Services.GetRequiredService<RequestWriter>().DrainAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
