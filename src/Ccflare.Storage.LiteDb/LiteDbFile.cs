using System.Globalization;
using LiteDB;
using LiteDB.Engine;

namespace Ccflare.Storage.LiteDb;

/// <summary>
/// One open LiteDB database on a data file and its write-ahead log (<c>name-log.ext</c>, LiteDB's own naming),
/// both opened exclusively by this process.
/// </summary>
/// <remarks>
/// LiteDB opened by file name forces every page it writes to its log to disk (one <c>fsync</c> per few pages,
/// measured: about 0.6 per request row), which caps a batch of 500 rows at a few hundred rows per second on
/// ordinary disks. Here LiteDB gets the streams instead: the log is written through the OS cache without
/// <c>fsync</c>, and the data file is synced whenever LiteDB checkpoints the log into it. That is the
/// durability of SQLite's WAL with <c>synchronous=NORMAL</c>: a process crash loses nothing committed; an OS
/// crash or power loss may lose the transactions committed since the last checkpoint, and LiteDB's log
/// recovery discards a torn tail, so the file stays consistent.
/// </remarks>
internal sealed class LiteDbFile : IDisposable
{
    // CompareOptions.Ordinal is not round-tripped by LiteDB 5.0's file header; None (case-sensitive) is.
    // Case-sensitive like SQLite and the in-memory store: ids and names differing only in case are different keys.
    internal static readonly Collation FileCollation = new(CultureInfo.InvariantCulture.LCID, CompareOptions.None);

    private readonly FileStream _data;
    private readonly FileStream _log;
    private readonly string _logPath;

    private LiteDbFile(string path)
    {
        _logPath = LogPath(path);
        _data = Open(path);
        try
        {
            _log = Open(_logPath);
            Database = new LiteDatabase(new LiteEngine(new EngineSettings
            {
                DataStream = new SyncStream(_data, durableFlush: true),
                LogStream = new SyncStream(_log, durableFlush: false),
                Collation = FileCollation,
            }));
        }
        catch
        {
            _log?.Dispose();
            _data.Dispose();
            throw;
        }
    }

    public LiteDatabase Database { get; }

    /// <summary>Opens (creating when missing) the database at <paramref name="path"/>.</summary>
    public static LiteDbFile Open(string path, bool createDirectory)
    {
        var directory = Path.GetDirectoryName(path);
        if (createDirectory && !string.IsNullOrEmpty(directory))
        {
            PrivateFiles.EnsureDirectory(directory);
        }
        PrivateFiles.EnsureFile(path);
        PrivateFiles.EnsureFile(LogPath(path));
        return new LiteDbFile(path);
    }

    /// <summary>LiteDB's name for the log of <paramref name="path"/>: <c>dir/name-log.ext</c>.</summary>
    public static string LogPath(string path) =>
        Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path) + "-log" + Path.GetExtension(path));

    private static FileStream Open(string path) =>
        new(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.RandomAccess);

    public void Dispose()
    {
        // Disposing the database checkpoints the log into the data file (and syncs it); the streams are ours to close.
        Database.Dispose();
        var logEmpty = _log.Length == 0;
        _log.Dispose();
        _data.Dispose();
        if (logEmpty)
        {
            File.Delete(_logPath);
        }
    }

    /// <summary>Passes everything through; <see cref="Flush"/> syncs to disk only for the data file.</summary>
    private sealed class SyncStream(FileStream inner, bool durableFlush) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override void Flush() => inner.Flush(durableFlush);

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void SetLength(long value) => inner.SetLength(value);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
