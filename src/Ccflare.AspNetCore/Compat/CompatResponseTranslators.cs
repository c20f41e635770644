using System.Text.Json;
using Ccflare.Compat.Translation;
using Ccflare.Proxy;
using Microsoft.Extensions.Logging;

namespace Ccflare.Compat;

/// <summary>Translates an SSE body event by event, writing each chunk's output before the next is read.</summary>
internal sealed class SseResponseTranslator : IResponseTranslator, ISseEventSink
{
    private readonly PooledBufferWriter _output = new(8192);
    private readonly SseReader _reader = new();
    private readonly StreamTranslator _translator;
    private readonly ILogger _logger;
    private readonly string _provider;

    public SseResponseTranslator(Func<PooledBufferWriter, StreamTranslator> create, string contentType, ILogger logger, string provider)
    {
        _translator = create(_output);
        ContentType = contentType;
        _logger = logger;
        _provider = provider;
    }

    public string ContentType { get; }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, Stream client, CancellationToken cancellationToken)
    {
        _reader.Feed(chunk.Span, this);
        return DrainAsync(client, cancellationToken);
    }

    public ValueTask CompleteAsync(Stream client, CancellationToken cancellationToken)
    {
        _reader.Complete(this);
        _translator.Complete();
        return DrainAsync(client, cancellationToken);
    }

    void ISseEventSink.OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data)
    {
        try
        {
            _translator.OnEvent(name, data);
        }
        catch (JsonException ex)
        {
            CompatLog.StreamEventSkipped(_logger, _provider, ex);
        }
    }

    private async ValueTask DrainAsync(Stream client, CancellationToken cancellationToken)
    {
        if (_output.WrittenCount == 0)
        {
            return;
        }
        await client.WriteAsync(_output.WrittenMemory, cancellationToken).ConfigureAwait(false);
        _output.Clear();
    }

    public void Dispose()
    {
        _translator.Dispose();
        _reader.Dispose();
        _output.Dispose();
    }
}

/// <summary>Collects a JSON body (a result or an error) and writes its translation once it is complete.</summary>
internal sealed class BufferedResponseTranslator(Action<ReadOnlyMemory<byte>, PooledBufferWriter> translate, Action<ReadOnlyMemory<byte>, PooledBufferWriter> onFailure, ILogger logger, string provider) : IResponseTranslator
{
    private readonly PooledBufferWriter _input = new(8192);
    private readonly PooledBufferWriter _output = new(8192);

    public string ContentType => "application/json";

    public ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, Stream client, CancellationToken cancellationToken)
    {
        _input.Write(chunk.Span);
        return ValueTask.CompletedTask;
    }

    public async ValueTask CompleteAsync(Stream client, CancellationToken cancellationToken)
    {
        try
        {
            translate(_input.WrittenMemory, _output);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            CompatLog.ResponseUntranslatable(logger, provider, ex);
            _output.Clear();
            onFailure(_input.WrittenMemory, _output);
        }
        await client.WriteAsync(_output.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _input.Dispose();
        _output.Dispose();
    }
}
