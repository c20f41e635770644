using System.Buffers;
using Ccflare.Tests.Infrastructure;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Ccflare.Compat;
using Ccflare.Compat.Translation;

namespace Ccflare.Tests.Compat;

/// <summary>
/// Golden tests: every <c>*.in.*</c> fixture is translated and compared byte for byte with its
/// checked-in <c>*.out.*</c>. The file name says the direction: <c>{from}-to-{to}.{case}</c>.
/// Set CCFLARE_UPDATE_FIXTURES=1 to (re)write the expected files after reviewing a change.
/// </summary>
public sealed class GoldenTests
{
    private const long Created = 1_700_000_000;

    private static readonly string FixtureRoot = Path.Combine(AppContext.BaseDirectory, "Compat", "Fixtures");

    public static TheoryData<string> Cases(string kind)
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(FixtureRoot, kind), "*.in.*").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Fact]
    public void Every_kind_has_fixtures()
    {
        foreach (var kind in new[] { "requests", "responses", "streams", "errors", "aggregates" })
        {
            Assert.NotEmpty(Cases(kind));
        }
    }

    [Theory]
    [MemberData(nameof(Cases), "requests")]
    public void Request_translation_matches_fixture(string file)
    {
        var (from, to, codex) = Direction(file);
        var raw = File.ReadAllBytes(Path.Combine(FixtureRoot, "requests", file));
        using var document = JsonDocument.Parse(raw);
        var model = document.RootElement.GetProperty("model").GetString()!;
        var actual = CompatAdapter.TranslateRequest(from, to, codex, document.RootElement, raw, model[(model.IndexOf('/', StringComparison.Ordinal) + 1)..]);
        AssertGolden("requests", file, Indent(actual));
    }

    [Theory]
    [MemberData(nameof(Cases), "responses")]
    public void Plain_response_translation_matches_fixture(string file)
    {
        var (from, to, _) = Direction(file);
        var raw = File.ReadAllBytes(Path.Combine(FixtureRoot, "responses", file));
        var output = new ArrayBufferWriter<byte>();
        CompatAdapter.TranslatePlain(from, to, Created, raw, output);
        AssertGolden("responses", file, Indent(output.WrittenSpan.ToArray()));
    }

    [Theory]
    [MemberData(nameof(Cases), "streams")]
    public void Stream_translation_matches_fixture(string file)
    {
        var (from, to, _) = Direction(file);
        var raw = File.ReadAllBytes(Path.Combine(FixtureRoot, "streams", file));
        AssertGolden("streams", file, Encoding.UTF8.GetString(RunStream(raw, 7, o => CompatAdapter.StreamFor(from, to, Created, includeUsage: true, o))));
    }

    [Theory]
    [MemberData(nameof(Cases), "streams")]
    public void Stream_translation_does_not_depend_on_chunk_boundaries(string file)
    {
        var (from, to, _) = Direction(file);
        var raw = File.ReadAllBytes(Path.Combine(FixtureRoot, "streams", file));
        var whole = RunStream(raw, raw.Length, o => CompatAdapter.StreamFor(from, to, Created, includeUsage: true, o));
        var bytewise = RunStream(raw, 1, o => CompatAdapter.StreamFor(from, to, Created, includeUsage: true, o));
        // CRLF line endings must parse the same way.
        var crlf = RunStream(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(raw).Replace("\n", "\r\n", StringComparison.Ordinal)), 5, o => CompatAdapter.StreamFor(from, to, Created, includeUsage: true, o));
        Assert.Equal(whole, bytewise);
        Assert.Equal(whole, crlf);
    }

    [Theory]
    [MemberData(nameof(Cases), "aggregates")]
    public void Stream_collected_for_a_plain_client_matches_fixture(string file)
    {
        var (from, to, _) = Direction(file);
        var raw = File.ReadAllBytes(Path.Combine(FixtureRoot, "aggregates", file));
        Action<JsonElement, IBufferWriter<byte>>? translate = to switch
        {
            WireSchema.Chat => (m, o) => ResponseTranslator.MessagesToChat(m, Created, o),
            WireSchema.Responses => (m, o) => ResponseTranslator.MessagesToResponses(m, Created, o),
            _ => null,
        };
        Assert.Equal(WireSchema.Responses, from);
        var actual = RunStream(raw, 11, o => new ChainedStream(o, static m => new ResponsesToMessagesStream(m), m => new MessagesAccumulator(m, translate)));
        AssertGolden("aggregates", file, Indent(actual));
    }

    [Theory]
    [MemberData(nameof(Cases), "errors")]
    public void Error_translation_matches_fixture(string file)
    {
        // {upstream}-{status}-to-{client}.in.*
        var name = file[..file.IndexOf(".in.", StringComparison.Ordinal)];
        var parts = name.Split('-');
        var status = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var raw = File.ReadAllBytes(Path.Combine(FixtureRoot, "errors", file));
        var output = new ArrayBufferWriter<byte>();
        if (parts[3] == "anthropic")
        {
            ResponseTranslator.ErrorToAnthropic(status, raw, output);
        }
        else
        {
            ResponseTranslator.ErrorToOpenAI(status, raw, output);
        }
        AssertGolden("errors", file, Indent(output.WrittenSpan.ToArray()));
    }

    [Fact]
    public void Model_rewrite_keeps_every_other_byte()
    {
        var raw = """{ "stream" : true, "model":"anthropic/claude-sonnet-4-5" ,"nested":{"model":"keep"}}"""u8.ToArray();
        var rewritten = RequestTranslator.RewriteModel(raw, "claude-sonnet-4-5");
        Assert.Equal("""{ "stream" : true, "model":"claude-sonnet-4-5" ,"nested":{"model":"keep"}}""", Encoding.UTF8.GetString(rewritten));
    }

    [Fact]
    public void Sse_reader_joins_multi_line_data_and_ignores_comments()
    {
        var sink = new RecordingSink();
        using var reader = new SseReader();
        reader.Feed(": comment\nevent: a\ndata: one\ndata: two\n\ndata: x"u8, sink);
        reader.Complete(sink);
        Assert.Equal(["a|one\ntwo", "|x"], sink.Events);
    }

    private sealed class RecordingSink : ISseEventSink
    {
        public List<string> Events { get; } = [];

        public void OnEvent(ReadOnlySpan<byte> name, ReadOnlyMemory<byte> data) =>
            Events.Add(Encoding.UTF8.GetString(name) + "|" + Encoding.UTF8.GetString(data.Span));
    }

    private static byte[] RunStream(byte[] input, int chunkSize, Func<IBufferWriter<byte>, StreamTranslator> create)
    {
        var output = new ArrayBufferWriter<byte>();
        using var translator = create(output);
        using var reader = new SseReader();
        for (var offset = 0; offset < input.Length; offset += chunkSize)
        {
            reader.Feed(input.AsSpan(offset, Math.Min(chunkSize, input.Length - offset)), translator);
        }
        reader.Complete(translator);
        translator.Complete();
        return output.WrittenSpan.ToArray();
    }

    private static (WireSchema From, WireSchema To, bool Codex) Direction(string file)
    {
        var name = file[..file.IndexOf('.', StringComparison.Ordinal)];
        var codex = name.EndsWith("-codex", StringComparison.Ordinal);
        if (codex)
        {
            name = name[..^"-codex".Length];
        }
        var split = name.Split("-to-");
        return (Parse(split[0]), Parse(split[1]), codex);

        static WireSchema Parse(string value) => value switch
        {
            "messages" => WireSchema.Messages,
            "chat" => WireSchema.Chat,
            "responses" => WireSchema.Responses,
            _ => throw new ArgumentException("Unknown schema " + value),
        };
    }

    /// <summary>Re-indents compact JSON so fixtures are readable; property order and values are unchanged.</summary>
    private static string Indent(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var output = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            document.WriteTo(writer);
        }
        return Encoding.UTF8.GetString(output.WrittenSpan) + "\n";
    }

    private static void AssertGolden(string kind, string inputFile, string actual)
    {
        var marker = inputFile.IndexOf(".in.", StringComparison.Ordinal);
        var extension = kind == "streams" ? ".sse" : ".json";
        var expectedName = inputFile[..marker] + ".out" + extension;
        if (Environment.GetEnvironmentVariable("CCFLARE_UPDATE_FIXTURES") == "1")
        {
            File.WriteAllText(RepositoryPaths.Combine("tests", "Ccflare.AspNetCore.Tests", "Compat", "Fixtures", kind, expectedName), actual);
            return;
        }
        var expectedPath = Path.Combine(FixtureRoot, kind, expectedName);
        Assert.True(File.Exists(expectedPath), $"Missing golden file {kind}/{expectedName}");
        Assert.Equal(File.ReadAllText(expectedPath), actual);
    }
}
