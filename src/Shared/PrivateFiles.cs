namespace Ccflare;

/// <summary>
/// Creates Ccflare's data directories and files readable by their owner only on Unix (0700 and 0600):
/// they hold prompts, responses and encrypted credentials, and the machine may have other users.
/// On Windows the inherited ACLs of the user's profile apply.
/// </summary>
internal static class PrivateFiles
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="path"/> (and missing parents) with mode 0700; an existing directory is narrowed to 0700.</summary>
    public static void EnsureDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        var existed = Directory.Exists(path);
        Directory.CreateDirectory(path, DirectoryMode);
        if (existed)
        {
            TryNarrow(path, DirectoryMode);
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> empty with mode 0600 when it does not exist, or narrows an existing file to
    /// 0600, so that the program that opens it next (SQLite, LiteDB) never creates it world-readable. SQLite gives
    /// its journal, WAL and shared-memory files the database file's mode.
    /// </summary>
    public static void EnsureFile(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        if (File.Exists(path))
        {
            TryNarrow(path, FileMode);
            return;
        }
        try
        {
            using var created = new FileStream(path, new FileStreamOptions
            {
                Mode = System.IO.FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = FileMode,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first.
            TryNarrow(path, FileMode);
        }
    }

    private static void TryNarrow(string path, UnixFileMode mode)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                return;
            }
            var current = File.GetUnixFileMode(path);
            if ((current & ~mode) != 0)
            {
                File.SetUnixFileMode(path, current & mode);
            }
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            // Not the owner (a shared, operator-managed directory): leave it as the operator set it.
        }
    }
}
