using System.Text.Json;
using Ccflare.Compat.Translation;
using Ccflare.Http;
using Ccflare.Providers;
using Ccflare.Proxy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ccflare.Compat;

/// <summary>
/// The compatibility routes: a client speaking one schema reaches any provider, chosen by the
/// model prefix: a family (<c>anthropic/…</c>, <c>openai/…</c>) or a provider's name
/// (<c>zai/…</c>). Literal segments outrank the native <c>/{provider}/{**rest}</c> route.
/// </summary>
internal static class CompatEndpoints
{
    /// <summary>Maps the routes on the proxy group (<c>/v1</c>).</summary>
    public static void Map(IEndpointRouteBuilder proxy)
    {
        // Services resolved once from the application's provider, not per request through a DI scope.
        var services = new Lazy<Services>(() => new Services(proxy.ServiceProvider));
        proxy.MapPost("/ccflare/anthropic/messages", context => HandleAsync(context, WireSchema.Messages, services.Value))
            .WithDisplayName("Ccflare compat: Anthropic Messages");
        // The Anthropic SDKs append /v1/messages to their base URL.
        proxy.MapPost("/ccflare/anthropic/v1/messages", context => HandleAsync(context, WireSchema.Messages, services.Value))
            .WithDisplayName("Ccflare compat: Anthropic Messages (SDK base URL)");
        proxy.MapPost("/ccflare/openai/chat/completions", context => HandleAsync(context, WireSchema.Chat, services.Value))
            .WithDisplayName("Ccflare compat: OpenAI Chat Completions");
        proxy.MapPost("/ccflare/openai/responses", context => HandleAsync(context, WireSchema.Responses, services.Value))
            .WithDisplayName("Ccflare compat: OpenAI Responses");
        // Clients probe their base URL at start-up (Claude Code sends HEAD); answered here, never forwarded.
        foreach (var family in (string[])["anthropic", "openai"])
        {
            proxy.MapMethods("/ccflare/" + family, [HttpMethods.Head], static context =>
            {
                context.Response.StatusCode = StatusCodes.Status200OK;
                return Task.CompletedTask;
            }).WithDisplayName("Ccflare compat: base URL probe");
        }
    }

    private sealed class Services(IServiceProvider provider)
    {
        public ProxyHandler Proxy { get; } = provider.GetRequiredService<ProxyHandler>();

        public ILogger Logger { get; } = provider.GetRequiredService<ILoggerFactory>().CreateLogger("Ccflare.Compat");

        public TimeProvider Time { get; } = provider.GetRequiredService<TimeProvider>();

        public ProviderRegistry Providers { get; } = provider.GetRequiredService<ProviderRegistry>();
    }

    private static async Task HandleAsync(HttpContext context, WireSchema client, Services services)
    {
        var proxy = services.Proxy;
        var body = await proxy.ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        var handedOver = false;
        try
        {
            if (Prepare(client, body, services, out var rejection) is not { } request)
            {
                await JsonErrors.WriteAsync(context, StatusCodes.Status400BadRequest, rejection.Message, rejection.Details).ConfigureAwait(false);
                return;
            }
            var first = request.Adapter.PrepareRequest(request.Providers[0]);
            var exchange = proxy.StartExchange(context, request.Providers[0].Name, first.UpstreamPath);
            exchange.Model = request.ModelId;
            handedOver = true;
            await proxy.ForwardAsync(context, exchange, new ForwardPlan(request.Providers, first.UpstreamPath, body) { Adapter = request.Adapter }).ConfigureAwait(false);
        }
        finally
        {
            if (!handedOver)
            {
                body.Dispose();
            }
        }
    }

    private readonly record struct CompatRequest(UpstreamProvider[] Providers, string ModelId, CompatAdapter Adapter);

    private readonly record struct Rejection(string Message, object? Details = null);

    /// <summary>Reads the model prefix and translates the body for every candidate provider; null (with the reason) for a 400.</summary>
    private static CompatRequest? Prepare(WireSchema client, RequestBodyBuffer body, Services services, out Rejection rejection)
    {
        const string NotAnObject = "The request body must be a JSON object.";
        JsonDocument document;
        try
        {
            document = LargeJsonDocuments.Parse(body.Memory);
        }
        catch (JsonException)
        {
            rejection = new(NotAnObject);
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                rejection = new(NotAnObject);
                return null;
            }
            var model = root.Str("model");
            var slash = model?.IndexOf('/', StringComparison.Ordinal) ?? -1;
            var prefix = slash > 0 ? model![..slash] : null;
            var providers = prefix is null ? [] : services.Providers.ForModelPrefix(prefix) ?? [];
            var modelId = slash > 0 ? model![(slash + 1)..] : string.Empty;
            if (providers.Length == 0 || modelId.Length == 0)
            {
                rejection = new(model is null
                    ? "The request needs a 'model' such as 'anthropic/claude-sonnet-4-5' or 'openai/gpt-4.1'."
                    : $"Model '{model}' has no provider prefix: use 'anthropic/<model>', 'openai/<model>' or '<provider>/<model>' with one of: {string.Join(", ", services.Providers.Names)}.",
                    new { model });
                return null;
            }
            CompatLog.CompatRequest(services.Logger, client.ToString(), prefix!, modelId);
            try
            {
                rejection = default;
                return new CompatRequest(providers, modelId, CompatAdapter.Create(providers, client, root, body.Span, modelId, UnixTime.Seconds(services.Time), services.Logger));
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                CompatLog.TranslationRejected(services.Logger, ex.Message);
                rejection = new("The request could not be translated: a field has a type or value the target API does not accept.");
                return null;
            }
        }
    }
}
