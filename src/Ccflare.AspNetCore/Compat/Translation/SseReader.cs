namespace Ccflare.Compat.Translation;

/// <summary>Receives the events an <see cref="SseReader"/> parses.</summary>
internal interface ISseEventSink
{
    /// <summary>One complete event: its <c>event:</c> name (empty when absent) and its joined <c>data:</c> lines.</summary>
    void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data);
}

/// <summary>
/// An incremental Server-Sent Events parser: feed it bytes as they arrive and it dispatches each
/// event when its blank line is seen. Lines may span chunks; buffers are pooled and reused.
/// </summary>
internal sealed class SseReader : IDisposable
{
    private readonly PooledBufferWriter _pending = new(8192);
    private readonly PooledBufferWriter _data = new(8192);
    private readonly PooledBufferWriter _name = new(64);
    private bool _hasData;

    public void Feed(ReadOnlySpan<byte> chunk, ISseEventSink sink)
    {
        if (_pending.WrittenCount > 0)
        {
            _pending.Write(chunk);
            var consumed = ProcessLines(_pending.WrittenSpan, sink, final: false);
            _pending.Consume(consumed);
        }
        else
        {
            var consumed = ProcessLines(chunk, sink, final: false);
            if (consumed < chunk.Length)
            {
                _pending.Write(chunk[consumed..]);
            }
        }
    }

    /// <summary>Processes a last unterminated line and dispatches a pending event.</summary>
    public void Complete(ISseEventSink sink)
    {
        if (_pending.WrittenCount > 0)
        {
            ProcessLines(_pending.WrittenSpan, sink, final: true);
            _pending.Clear();
        }
        Dispatch(sink);
    }

    private int ProcessLines(ReadOnlySpan<byte> buffer, ISseEventSink sink, bool final)
    {
        var position = 0;
        while (position < buffer.Length)
        {
            var rest = buffer[position..];
            var newline = rest.IndexOfAny((byte)'\n', (byte)'\r');
            int lineLength;
            int advance;
            if (newline < 0)
            {
                if (!final)
                {
                    break;
                }
                lineLength = rest.Length;
                advance = rest.Length;
            }
            else
            {
                lineLength = newline;
                advance = newline + 1;
                if (rest[newline] == (byte)'\r')
                {
                    if (newline + 1 >= rest.Length && !final)
                    {
                        // A lone CR at the end of a chunk may be the first half of CRLF.
                        break;
                    }
                    if (newline + 1 < rest.Length && rest[newline + 1] == (byte)'\n')
                    {
                        advance++;
                    }
                }
            }
            HandleLine(rest[..lineLength], sink);
            position += advance;
        }
        return position;
    }

    private void HandleLine(ReadOnlySpan<byte> line, ISseEventSink sink)
    {
        if (line.IsEmpty)
        {
            Dispatch(sink);
            return;
        }
        if (line[0] == (byte)':')
        {
            return;
        }
        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }
        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                _data.Write("\n"u8);
            }
            _data.Write(value);
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            _name.Clear();
            _name.Write(value);
        }
    }

    private void Dispatch(ISseEventSink sink)
    {
        if (_hasData)
        {
            sink.OnEvent(_name.WrittenSpan, _data.WrittenMemory);
        }
        _hasData = false;
        _data.Clear();
        _name.Clear();
    }

    public void Dispose()
    {
        _pending.Dispose();
        _data.Dispose();
        _name.Dispose();
    }
}
