using System.Buffers;
using System.Text.Json;
using Ccflare.Proxy;

namespace Ccflare.Compat.Translation;

/// <summary>
/// Answers a non-streaming Responses client from a Responses event stream: the final response
/// object (with its usage) from <c>response.completed</c>, its output filled from the
/// <c>response.output_item.done</c> events when the final event leaves it empty.
/// </summary>
internal sealed class ResponsesStreamAssembler : IResponseTranslator, ISseEventSink
{
    private readonly SseReader _reader = new();
    private readonly SortedDictionary<long, byte[]> _items = [];
    private byte[]? _final;

    public string ContentType => "application/json";

    public ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, Stream client, CancellationToken cancellationToken)
    {
        _reader.Feed(chunk.Span, this);
        return ValueTask.CompletedTask;
    }

    public async ValueTask CompleteAsync(Stream client, CancellationToken cancellationToken)
    {
        _reader.Complete(this);
        var output = new ArrayBufferWriter<byte>(4096);
        Write(output);
        await client.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    void ISseEventSink.OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data);
        }
        catch (JsonException)
        {
            // [DONE] markers and keep-alives.
            return;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return;
            }
            switch (root.Str("type"))
            {
                case "response.output_item.done" when root.TryObj("item", out var item):
                    _items[root.Long("output_index") ?? _items.Count] = JsonSerializer.SerializeToUtf8Bytes(item);
                    break;
                case "response.completed" or "response.incomplete" or "response.failed" when root.TryObj("response", out var response):
                    _final = JsonSerializer.SerializeToUtf8Bytes(response);
                    break;
            }
        }
    }

    private void Write(IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, TranslationJson.WriterOptions);
        if (_final is null)
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("type", "upstream_error");
            writer.WriteString("message", "The upstream stream ended without a final response.");
            writer.WriteEndObject();
            writer.WriteEndObject();
            return;
        }
        using var final = JsonDocument.Parse(_final);
        writer.WriteStartObject();
        foreach (var property in final.RootElement.EnumerateObject())
        {
            if (property.NameEquals("output"u8) && property.Value.ValueKind == JsonValueKind.Array && property.Value.GetArrayLength() == 0 && _items.Count > 0)
            {
                writer.WriteStartArray("output");
                foreach (var item in _items.Values)
                {
                    writer.WriteRawValue(item, skipInputValidation: true);
                }
                writer.WriteEndArray();
                continue;
            }
            property.WriteTo(writer);
        }
        writer.WriteEndObject();
    }

    public void Dispose() => _reader.Dispose();
}
