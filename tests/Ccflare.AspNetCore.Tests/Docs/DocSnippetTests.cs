using System.Text.RegularExpressions;
using Ccflare.Tests.Infrastructure;

namespace Ccflare.Tests.Docs;

/// <summary>
/// The docs' C# must compile: every <c>```csharp</c> block in the Markdown files is the text of a
/// region in <c>Docs/DocSnippets.cs</c> (compiled with the tests), part of the sample third-party store's
/// tests (<c>tests/SampleStore.Tests</c>) or, for a sample's README, part of that sample's compiled source.
/// </summary>
public sealed partial class DocSnippetTests
{
    public static TheoryData<string> MarkdownFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in DocumentationFiles())
        {
            data.Add(Path.GetRelativePath(RepositoryPaths.Root, file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(MarkdownFiles))]
    public void Every_csharp_block_is_compiled_code(string markdownFile)
    {
        var regions = Regions(File.ReadAllText(SnippetsFile)).Values.ToList();
        // The sample third-party store's tests are compiled code the storage docs quote.
        regions.AddRange(Directory.EnumerateFiles(RepositoryPaths.Combine("tests", "SampleStore.Tests"), "*.cs")
            .Select(f => Normalize(File.ReadAllText(f))));
        var sampleDirectory = Path.GetDirectoryName(Path.Combine(RepositoryPaths.Root, markdownFile))!;
        if (markdownFile.StartsWith("samples", StringComparison.Ordinal))
        {
            foreach (var source in Directory.EnumerateFiles(sampleDirectory, "*.cs", SearchOption.AllDirectories)
                         .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            {
                regions.Add(Normalize(File.ReadAllText(source)));
            }
        }

        foreach (var block in CSharpBlocks(File.ReadAllText(Path.Combine(RepositoryPaths.Root, markdownFile))))
        {
            Assert.True(regions.Any(r => ContainsLines(r, block)),
                $"{markdownFile}: this C# block is not compiled anywhere; copy it into a region of tests/Ccflare.AspNetCore.Tests/Docs/DocSnippets.cs:\n{string.Join('\n', block)}");
        }
    }

    [Fact]
    public void Every_snippet_region_is_shown_in_the_docs()
    {
        var blocks = DocumentationFiles().SelectMany(f => CSharpBlocks(File.ReadAllText(f))).ToList();
        Assert.NotEmpty(blocks);
        foreach (var (name, lines) in Regions(File.ReadAllText(SnippetsFile)))
        {
            Assert.True(blocks.Any(b => b.SequenceEqual(lines)), $"Region '{name}' is not used by any Markdown file; delete it or show it.");
        }
    }

    [Fact]
    public void The_checker_finds_blocks_and_regions()
    {
        const string markdown = "text\n   ```csharp\n   var a = 1;\n     a++;\n   ```\n```bash\nls\n```\n";
        var block = Assert.Single(CSharpBlocks(markdown));
        Assert.Equal(["var a = 1;", "  a++;"], block);
        const string code = "class C {\n    void M() {\n        #region r1\n        var a = 1;\n          a++;\n        #endregion\n    }\n}\n";
        var region = Assert.Single(Regions(code));
        Assert.Equal("r1", region.Key);
        Assert.True(ContainsLines(region.Value, block));
        Assert.False(ContainsLines(region.Value, ["var a = 2;"]));
    }

    private static string SnippetsFile => RepositoryPaths.Combine("tests", "Ccflare.AspNetCore.Tests", "Docs", "DocSnippets.cs");

    private static IEnumerable<string> DocumentationFiles()
    {
        var root = RepositoryPaths.Root;
        var files = new List<string> { Path.Combine(root, "README.md") };
        files.AddRange(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories));
        foreach (var folder in new[] { "src", "samples" })
        {
            files.AddRange(Directory.EnumerateDirectories(Path.Combine(root, folder))
                .Select(d => Path.Combine(d, "README.md")).Where(File.Exists));
        }
        return files.Order(StringComparer.Ordinal);
    }

    private static List<IReadOnlyList<string>> CSharpBlocks(string markdown)
    {
        var blocks = new List<IReadOnlyList<string>>();
        foreach (Match match in FencedCSharp().Matches(markdown.ReplaceLineEndings("\n")))
        {
            blocks.Add(Normalize(match.Groups["body"].Value));
        }
        return blocks;
    }

    private static Dictionary<string, IReadOnlyList<string>> Regions(string code)
    {
        var regions = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (Match match in Region().Matches(code.ReplaceLineEndings("\n")))
        {
            regions.Add(match.Groups["name"].Value, Normalize(match.Groups["body"].Value));
        }
        return regions;
    }

    /// <summary>Lines without the common indentation, trailing spaces and surrounding blank lines.</summary>
    private static IReadOnlyList<string> Normalize(string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[0].Length == 0)
        {
            lines.RemoveAt(0);
        }
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        var indent = lines.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return lines.Select(l => l.Length >= indent ? l[indent..] : l).ToList();
    }

    /// <summary>True when <paramref name="block"/> appears as consecutive lines (compared without indentation) in <paramref name="source"/>.</summary>
    private static bool ContainsLines(IReadOnlyList<string> source, IReadOnlyList<string> block)
    {
        if (block.Count == 0)
        {
            return true;
        }
        for (var start = 0; start + block.Count <= source.Count; start++)
        {
            var all = true;
            for (var i = 0; i < block.Count && all; i++)
            {
                all = string.Equals(source[start + i].Trim(), block[i].Trim(), StringComparison.Ordinal);
            }
            if (all)
            {
                return true;
            }
        }
        return false;
    }

    [GeneratedRegex(@"^(?<indent>[ \t]*)```(?:csharp|cs|c#)[ \t]*\n(?<body>.*?)^\k<indent>```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedCSharp();

    [GeneratedRegex(@"#region (?<name>[\w-]+)[ \t]*\n(?<body>.*?)^[ \t]*#endregion", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Region();
}
