using System.Text.Json;
using Ccflare.Compat.Translation;
using Ccflare.Providers;
using Ccflare.Proxy;
using Microsoft.Extensions.Logging;

namespace Ccflare.Compat;

/// <summary>
/// Per-request adaptation for a compat route: the body prepared for each provider of the family
/// (translated up front, so a bad request is a 400 before any upstream call) and the response
/// translator for whichever provider answers.
/// </summary>
internal sealed class CompatAdapter : IForwardAdapter
{
    private const string EventStream = "text/event-stream; charset=utf-8";
    private readonly IReadOnlyList<UpstreamProvider> _providers;
    private readonly AdaptedRequest[] _requests;
    private readonly WireSchema _client;
    private readonly bool _clientStreams;
    private readonly bool _includeUsage;
    private readonly long _created;
    private readonly ILogger _logger;

    private CompatAdapter(IReadOnlyList<UpstreamProvider> providers, AdaptedRequest[] requests, WireSchema client, bool clientStreams, bool includeUsage, long created, ILogger logger)
    {
        _providers = providers;
        _requests = requests;
        _client = client;
        _clientStreams = clientStreams;
        _includeUsage = includeUsage;
        _created = created;
        _logger = logger;
    }

    /// <summary>Prepares the body for every provider; throws <see cref="JsonException"/> or <see cref="InvalidOperationException"/> when the request cannot be translated.</summary>
    public static CompatAdapter Create(IReadOnlyList<UpstreamProvider> providers, WireSchema client, JsonElement root, ReadOnlySpan<byte> rawBody, string model, long created, ILogger logger)
    {
        var requests = new AdaptedRequest[providers.Count];
        for (var i = 0; i < providers.Count; i++)
        {
            var upstream = providers[i].UpstreamSchema(client);
            var streamingUnstored = providers[i].RequiresStreamingUnstored;
            var forwardQuery = upstream.Family() == client.Family();
            // Reuse a body already prepared for an earlier provider speaking the same dialect.
            var reused = false;
            for (var j = 0; j < i; j++)
            {
                if (providers[j].UpstreamSchema(client) == upstream && providers[j].RequiresStreamingUnstored == streamingUnstored)
                {
                    requests[i] = requests[j];
                    reused = true;
                    break;
                }
            }
            if (!reused)
            {
                requests[i] = new AdaptedRequest(TranslateRequest(client, upstream, streamingUnstored, root, rawBody, model), WireSchemas.PathFor(upstream), forwardQuery);
            }
        }
        var clientStreams = root.Bool("stream") == true;
        var includeUsage = root.TryObj("stream_options", out var options) && options.Bool("include_usage") == true;
        return new CompatAdapter(providers, requests, client, clientStreams, includeUsage, created, logger);
    }

    internal static byte[] TranslateRequest(WireSchema client, WireSchema upstream, bool streamingUnstored, JsonElement root, ReadOnlySpan<byte> rawBody, string model)
    {
        if (client == upstream)
        {
            var rewritten = RequestTranslator.RewriteModel(rawBody, model);
            return streamingUnstored && !StreamingUnstored.IsSatisfied(rewritten) ? StreamingUnstored.Apply(rewritten) : rewritten;
        }
        return (client, upstream) switch
        {
            (WireSchema.Messages, WireSchema.Chat) => RequestTranslator.MessagesToChat(root, model),
            (WireSchema.Messages, WireSchema.Responses) => RequestTranslator.MessagesToResponses(root, model, streamingUnstored),
            (WireSchema.Chat, WireSchema.Messages) => RequestTranslator.ChatToMessages(root, model),
            (WireSchema.Responses, WireSchema.Messages) => RequestTranslator.ResponsesToMessages(root, model),
            (WireSchema.Chat, WireSchema.Responses) => ViaMessages(root, model, streamingUnstored),
            _ => throw new InvalidOperationException($"No translation from {client} to {upstream}."),
        };
    }

    private static byte[] ViaMessages(JsonElement chat, string model, bool streamingUnstored)
    {
        var messages = RequestTranslator.ChatToMessages(chat, model);
        using var document = Http.LargeJsonDocuments.Parse(messages);
        return RequestTranslator.MessagesToResponses(document.RootElement, model, streamingUnstored);
    }

    public AdaptedRequest PrepareRequest(UpstreamProvider provider) => _requests[IndexOf(provider)];

    public void PrepareHeaders(UpstreamProvider provider, HttpRequestMessage request) => provider.AddCompatHeaders(request);

    public IResponseTranslator? CreateResponseTranslator(UpstreamProvider provider, int statusCode, bool isEventStream)
    {
        var upstream = provider.UpstreamSchema(_client);
        if (upstream == _client)
        {
            // Same schema: only an upstream that streams although the client did not ask to needs assembling.
            return isEventStream && !_clientStreams && statusCode < 400 ? new ResponsesStreamAssembler() : null;
        }
        var client = _client;
        if (statusCode >= 400)
        {
            return new BufferedResponseTranslator((body, output) => TranslateError(client, statusCode, body.Span, output), (body, output) => TranslateError(client, statusCode, body.Span, output), _logger, provider.Name);
        }
        var created = _created;
        if (isEventStream)
        {
            if (!_clientStreams)
            {
                // The upstream streams although the client did not ask to (some upstreams always do): collect it.
                return new SseResponseTranslator(output => ToMessagesEvents(upstream, output, o => new MessagesAccumulator(o, PlainFromMessages(client, created))), "application/json", _logger, provider.Name);
            }
            return new SseResponseTranslator(output => StreamFor(upstream, client, created, _includeUsage, output), EventStream, _logger, provider.Name);
        }
        return new BufferedResponseTranslator(
            (body, output) => TranslatePlain(upstream, client, created, body, output),
            (body, output) => TranslateError(client, 502, "The upstream response could not be translated."u8, output),
            _logger,
            provider.Name);
    }

    private int IndexOf(UpstreamProvider provider)
    {
        for (var i = 0; i < _providers.Count; i++)
        {
            if (_providers[i].Name == provider.Name)
            {
                return i;
            }
        }
        return 0;
    }

    private static void TranslateError(WireSchema client, int status, ReadOnlySpan<byte> body, PooledBufferWriter output)
    {
        if (client == WireSchema.Messages)
        {
            ResponseTranslator.ErrorToAnthropic(status, body, output);
        }
        else
        {
            ResponseTranslator.ErrorToOpenAI(status, body, output);
        }
    }

    /// <summary>Translates a plain upstream body into the client schema (through Messages when both are OpenAI schemas).</summary>
    internal static void TranslatePlain(WireSchema upstream, WireSchema client, long created, ReadOnlyMemory<byte> body, System.Buffers.IBufferWriter<byte> output)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (upstream == WireSchema.Messages)
        {
            PlainFromMessages(client, created)!(root, output);
            return;
        }
        if (client == WireSchema.Messages)
        {
            ToMessagesPlain(upstream, root, output);
            return;
        }
        var middle = new System.Buffers.ArrayBufferWriter<byte>(1024);
        ToMessagesPlain(upstream, root, middle);
        using var messages = JsonDocument.Parse(middle.WrittenMemory);
        PlainFromMessages(client, created)!(messages.RootElement, output);
    }

    private static void ToMessagesPlain(WireSchema upstream, JsonElement root, System.Buffers.IBufferWriter<byte> output)
    {
        if (upstream == WireSchema.Chat)
        {
            ResponseTranslator.ChatToMessages(root, output);
        }
        else
        {
            ResponseTranslator.ResponsesToMessages(root, output);
        }
    }

    private static Action<JsonElement, System.Buffers.IBufferWriter<byte>>? PlainFromMessages(WireSchema client, long created) => client switch
    {
        WireSchema.Chat => (message, output) => ResponseTranslator.MessagesToChat(message, created, output),
        WireSchema.Responses => (message, output) => ResponseTranslator.MessagesToResponses(message, created, output),
        _ => null,
    };

    /// <summary>Wraps <paramref name="then"/> (which consumes Messages events) behind a translator from <paramref name="upstream"/> when needed.</summary>
    private static StreamTranslator ToMessagesEvents(WireSchema upstream, System.Buffers.IBufferWriter<byte> output, Func<System.Buffers.IBufferWriter<byte>, StreamTranslator> then) => upstream switch
    {
        WireSchema.Messages => then(output),
        WireSchema.Chat => new ChainedStream(output, static o => new ChatToMessagesStream(o), then),
        _ => new ChainedStream(output, static o => new ResponsesToMessagesStream(o), then),
    };

    internal static StreamTranslator StreamFor(WireSchema upstream, WireSchema client, long created, bool includeUsage, System.Buffers.IBufferWriter<byte> output) => (upstream, client) switch
    {
        (WireSchema.Messages, WireSchema.Chat) => new MessagesToChatStream(output, created, includeUsage),
        (WireSchema.Messages, WireSchema.Responses) => new MessagesToResponsesStream(output, created),
        (WireSchema.Chat, WireSchema.Messages) => new ChatToMessagesStream(output),
        (WireSchema.Responses, WireSchema.Messages) => new ResponsesToMessagesStream(output),
        (WireSchema.Responses, WireSchema.Chat) => new ChainedStream(output, static o => new ResponsesToMessagesStream(o), o => new MessagesToChatStream(o, created, includeUsage)),
        _ => new ChainedStream(output, static o => new ChatToMessagesStream(o), o => new MessagesToResponsesStream(o, created)),
    };
}
