namespace Ccflare.Storage.LiteDb;

/// <summary>Options of the LiteDB store (<c>UseLiteDbStorage</c>).</summary>
public sealed class LiteDbStorageOptions
{
    /// <summary>
    /// Path of the database file. Its directory is created when missing. Defaults to
    /// <c>$XDG_CONFIG_HOME/ccflare/ccflare.litedb</c> (<c>~/.config/ccflare/ccflare.litedb</c>).
    /// </summary>
    public string DatabasePath { get; set; } = DefaultDatabasePath();

    internal static string DefaultDatabasePath()
    {
        var configHome = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(configHome))
        {
            configHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        }
        return Path.Combine(configHome, "ccflare", "ccflare.litedb");
    }
}
