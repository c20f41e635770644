using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ccflare.Compat.Translation;

/// <summary>Writes SSE events whose data is JSON into a buffer, reusing one <see cref="Utf8JsonWriter"/>.</summary>
internal sealed class SseEmitter : IDisposable
{
    private readonly Utf8JsonWriter _json;
    private readonly IBufferWriter<byte> _output;

    public SseEmitter(IBufferWriter<byte> output)
    {
        _output = output;
        _json = new Utf8JsonWriter(output, TranslationJson.WriterOptions);
    }

    /// <summary>The writer of the event being written.</summary>
    public Utf8JsonWriter Writer => _json;

    /// <summary>Starts an event (named, or data-only when <paramref name="name"/> is empty) and returns the writer for its JSON.</summary>
    public Utf8JsonWriter Begin(ReadOnlySpan<byte> name)
    {
        if (!name.IsEmpty)
        {
            _output.Write("event: "u8);
            _output.Write(name);
            _output.Write("\n"u8);
        }
        _output.Write("data: "u8);
        _json.Reset(_output);
        return _json;
    }

    public void End()
    {
        _json.Flush();
        _output.Write("\n\n"u8);
    }

    /// <summary>Writes a data line with raw text, such as <c>[DONE]</c>.</summary>
    public void Raw(ReadOnlySpan<byte> data)
    {
        _output.Write("data: "u8);
        _output.Write(data);
        _output.Write("\n\n"u8);
    }

    public void Dispose() => _json.Dispose();
}

internal static class TranslationJson
{
    /// <summary>Compact output that keeps non-ASCII text readable, as the providers do.</summary>
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };
}
