namespace Ccflare.Storage.Sqlite;

/// <summary>Options of the SQLite store (<c>UseSqliteStorage</c>).</summary>
public sealed class SqliteStorageOptions
{
    /// <summary>
    /// Path of the database file. Its directory is created when missing. Defaults to ccflare's
    /// location, <c>$XDG_CONFIG_HOME/ccflare/ccflare.db</c> (<c>~/.config/ccflare/ccflare.db</c>).
    /// </summary>
    public string DatabasePath { get; set; } = DefaultDatabasePath();

    /// <summary>How long a statement waits for a lock held by another connection or process before failing (5 s by default).</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    internal static string DefaultDatabasePath()
    {
        var configHome = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(configHome))
        {
            configHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        }
        return Path.Combine(configHome, "ccflare", "ccflare.db");
    }
}
