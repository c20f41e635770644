using System.IO.Compression;
using System.Text;

namespace Ccflare.LoadBench;

/// <summary>
/// Writes a small grouped bar chart (CPU µs per request, YARP vs Ccflare, per scenario) as a
/// PNG, with no dependencies: a raster, a 3x5 pixel font and a minimal PNG encoder.
/// </summary>
internal static class Chart
{
    private const int Width = 900;
    private const int Height = 420;
    private static readonly (byte R, byte G, byte B) Yarp = (90, 120, 200);
    private static readonly (byte R, byte G, byte B) Ccflare = (240, 130, 40);

    public static void Write(string path, List<Row> rows)
    {
        var pixels = new byte[Width * Height * 3];
        Array.Fill(pixels, (byte)255);
        var scenarios = rows.Select(r => r.Scenario).Distinct().Where(s => rows.Any(r => r.Scenario == s && r.Target == "YARP")).ToList();
        var max = rows.Where(r => r.Target != "direct" && !double.IsNaN(r.CpuMicrosPerRequest)).Select(r => r.CpuMicrosPerRequest).DefaultIfEmpty(1).Max();
        Text(pixels, 20, 12, "CPU MICROSECONDS PER REQUEST (LOWER IS BETTER)", 3, (0, 0, 0));
        Rect(pixels, 20, 40, 14, 14, Yarp);
        Text(pixels, 40, 42, "YARP BASELINE", 2, (0, 0, 0));
        Rect(pixels, 220, 40, 14, 14, Ccflare);
        Text(pixels, 240, 42, "CCFLARE", 2, (0, 0, 0));
        var baseline = Height - 60;
        Rect(pixels, 20, baseline, Width - 40, 2, (0, 0, 0));
        var groupWidth = (Width - 60) / Math.Max(1, scenarios.Count);
        for (var i = 0; i < scenarios.Count; i++)
        {
            var x = 40 + i * groupWidth;
            var bars = new[] { ("YARP", Yarp), ("Ccflare", Ccflare) };
            for (var b = 0; b < bars.Length; b++)
            {
                var row = rows.First(r => r.Scenario == scenarios[i] && r.Target == bars[b].Item1);
                var height = (int)(row.CpuMicrosPerRequest / max * (baseline - 90));
                var barX = x + b * (groupWidth / 3 + 6);
                Rect(pixels, barX, baseline - height, groupWidth / 3, height, bars[b].Item2);
                Text(pixels, barX, baseline - height - 14, ((int)Math.Round(row.CpuMicrosPerRequest)).ToString(System.Globalization.CultureInfo.InvariantCulture), 2, (0, 0, 0));
            }
            Text(pixels, x, baseline + 12, scenarios[i].ToUpperInvariant(), 2, (0, 0, 0));
        }
        File.WriteAllBytes(path, Png(pixels));
    }

    private static void Rect(byte[] pixels, int x, int y, int w, int h, (byte R, byte G, byte B) color)
    {
        for (var yy = Math.Max(0, y); yy < Math.Min(Height, y + h); yy++)
        {
            for (var xx = Math.Max(0, x); xx < Math.Min(Width, x + w); xx++)
            {
                var i = (yy * Width + xx) * 3;
                pixels[i] = color.R;
                pixels[i + 1] = color.G;
                pixels[i + 2] = color.B;
            }
        }
    }

    private static void Text(byte[] pixels, int x, int y, string text, int scale, (byte R, byte G, byte B) color)
    {
        foreach (var ch in text)
        {
            if (Glyphs.TryGetValue(ch, out var rows))
            {
                for (var row = 0; row < 5; row++)
                {
                    for (var col = 0; col < 3; col++)
                    {
                        if (rows[row][col] == '#')
                        {
                            Rect(pixels, x + col * scale, y + row * scale, scale, scale, color);
                        }
                    }
                }
            }
            x += 4 * scale;
        }
    }

    private static readonly Dictionary<char, string[]> Glyphs = new()
    {
        ['0'] = ["###", "#.#", "#.#", "#.#", "###"], ['1'] = [".#.", "##.", ".#.", ".#.", "###"], ['2'] = ["###", "..#", "###", "#..", "###"],
        ['3'] = ["###", "..#", "###", "..#", "###"], ['4'] = ["#.#", "#.#", "###", "..#", "..#"], ['5'] = ["###", "#..", "###", "..#", "###"],
        ['6'] = ["###", "#..", "###", "#.#", "###"], ['7'] = ["###", "..#", "..#", "..#", "..#"], ['8'] = ["###", "#.#", "###", "#.#", "###"],
        ['9'] = ["###", "#.#", "###", "..#", "###"], ['A'] = [".#.", "#.#", "###", "#.#", "#.#"], ['B'] = ["##.", "#.#", "##.", "#.#", "##."],
        ['C'] = ["###", "#..", "#..", "#..", "###"], ['D'] = ["##.", "#.#", "#.#", "#.#", "##."], ['E'] = ["###", "#..", "##.", "#..", "###"],
        ['F'] = ["###", "#..", "##.", "#..", "#.."], ['G'] = ["###", "#..", "#.#", "#.#", "###"], ['H'] = ["#.#", "#.#", "###", "#.#", "#.#"],
        ['I'] = ["###", ".#.", ".#.", ".#.", "###"], ['J'] = ["..#", "..#", "..#", "#.#", "###"], ['K'] = ["#.#", "#.#", "##.", "#.#", "#.#"],
        ['L'] = ["#..", "#..", "#..", "#..", "###"], ['M'] = ["#.#", "###", "###", "#.#", "#.#"], ['N'] = ["##.", "#.#", "#.#", "#.#", "#.#"],
        ['O'] = ["###", "#.#", "#.#", "#.#", "###"], ['P'] = ["###", "#.#", "###", "#..", "#.."], ['Q'] = ["###", "#.#", "#.#", "###", "..#"],
        ['R'] = ["##.", "#.#", "##.", "#.#", "#.#"], ['S'] = ["###", "#..", "###", "..#", "###"], ['T'] = ["###", ".#.", ".#.", ".#.", ".#."],
        ['U'] = ["#.#", "#.#", "#.#", "#.#", "###"], ['V'] = ["#.#", "#.#", "#.#", "#.#", ".#."], ['W'] = ["#.#", "#.#", "###", "###", "#.#"],
        ['X'] = ["#.#", "#.#", ".#.", "#.#", "#.#"], ['Y'] = ["#.#", "#.#", ".#.", ".#.", ".#."], ['Z'] = ["###", "..#", ".#.", "#..", "###"],
        [','] = ["...", "...", "...", ".#.", "#.."], ['.'] = ["...", "...", "...", "...", ".#."], ['/'] = ["..#", "..#", ".#.", "#..", "#.."],
        ['('] = [".#.", "#..", "#..", "#..", ".#."], [')'] = [".#.", "..#", "..#", "..#", ".#."], ['-'] = ["...", "...", "###", "...", "..."],
    };

    private static byte[] Png(byte[] rgb)
    {
        using var output = new MemoryStream();
        output.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        WriteBigEndian(header, 0, Width);
        WriteBigEndian(header, 4, Height);
        header[8] = 8;
        header[9] = 2;
        Chunk(output, "IHDR", header);
        using var raw = new MemoryStream();
        for (var y = 0; y < Height; y++)
        {
            raw.WriteByte(0);
            raw.Write(rgb, y * Width * 3, Width * 3);
        }
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            raw.Position = 0;
            raw.CopyTo(zlib);
        }
        Chunk(output, "IDAT", compressed.ToArray());
        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        var length = new byte[4];
        WriteBigEndian(length, 0, data.Length);
        output.Write(length);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        var crc = new byte[4];
        WriteBigEndian(crc, 0, (int)Crc32([.. typeBytes, .. data]));
        output.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }

    private static void WriteBigEndian(byte[] buffer, int offset, int value)
    {
        buffer[offset] = (byte)(value >> 24);
        buffer[offset + 1] = (byte)(value >> 16);
        buffer[offset + 2] = (byte)(value >> 8);
        buffer[offset + 3] = (byte)value;
    }
}
