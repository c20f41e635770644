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
/// The compatibility routes: a client speaking one schema reaches either provider family, chosen
/// by the model prefix (<c>anthropic/…</c> or <c>openai/…</c>). Literal segments outrank the
/// native <c>/{provider}/{**rest}</c> route.
/// </summary>
internal static class CompatEndpoints
{
    private static readonly ProviderDescriptor[] AnthropicFamily = [ProviderCatalog.Find(ProviderCatalog.ClaudeCode)!, ProviderCatalog.Find(ProviderCatalog.Anthropic)!];
    private static readonly ProviderDescriptor[] OpenAIFamily = [ProviderCatalog.Find(ProviderCatalog.Codex)!, ProviderCatalog.Find(ProviderCatalog.OpenAI)!];

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
    }

    private sealed class Services(IServiceProvider provider)
    {
        public ProxyHandler Proxy { get; } = provider.GetRequiredService<ProxyHandler>();

        public ILogger Logger { get; } = provider.GetRequiredService<ILoggerFactory>().CreateLogger("Ccflare.Compat");

        public TimeProvider Time { get; } = provider.GetRequiredService<TimeProvider>();
    }

    private static async Task HandleAsync(HttpContext context, WireSchema client, Services services)
    {
        var proxy = services.Proxy;
        var logger = services.Logger;
        var body = await proxy.ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        var handedOver = false;
        try
        {
            CompatAdapter adapter;
            ProviderDescriptor[] providers;
            string modelId;
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(body.Memory);
            }
            catch (JsonException)
            {
                await JsonErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "The request body must be a JSON object.").ConfigureAwait(false);
                return;
            }
            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    await JsonErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "The request body must be a JSON object.").ConfigureAwait(false);
                    return;
                }
                var model = root.Str("model");
                var slash = model?.IndexOf('/', StringComparison.Ordinal) ?? -1;
                var family = slash > 0 ? model![..slash] : null;
                providers = family switch
                {
                    "anthropic" => AnthropicFamily,
                    "openai" => OpenAIFamily,
                    _ => [],
                };
                modelId = slash > 0 ? model![(slash + 1)..] : string.Empty;
                if (providers.Length == 0 || modelId.Length == 0)
                {
                    await JsonErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                        model is null
                            ? "The request needs a 'model' such as 'anthropic/claude-sonnet-4-5' or 'openai/gpt-4.1'."
                            : $"Model '{model}' has no provider family prefix: use 'anthropic/<model>' or 'openai/<model>'.",
                        new { model }).ConfigureAwait(false);
                    return;
                }
                CompatLog.CompatRequest(logger, client.ToString(), family!, modelId);
                try
                {
                    adapter = CompatAdapter.Create(providers, client, root, body.Span, modelId, UnixTime.Seconds(services.Time), logger);
                }
                catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
                {
                    CompatLog.TranslationRejected(logger, ex.Message);
                    await JsonErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                        "The request could not be translated: a field has a type or value the target API does not accept.").ConfigureAwait(false);
                    return;
                }
            }

            var first = adapter.PrepareRequest(providers[0]);
            var exchange = proxy.StartExchange(context, providers[0].Name, first.UpstreamPath);
            exchange.Model = modelId;
            handedOver = true;
            await proxy.ForwardAsync(context, exchange, new ForwardPlan(providers, first.UpstreamPath, body) { Adapter = adapter }).ConfigureAwait(false);
        }
        finally
        {
            if (!handedOver)
            {
                body.Dispose();
            }
        }
    }
}
