namespace Ccflare.StandaloneServer.Cli;

/// <summary>Where the standalone server and the CLI keep their data.</summary>
internal static class DataDirectory
{
    public const string EnvironmentVariable = "CCFLARE_DATA_DIR";
    public const string Option = "--data-dir";

    /// <summary>
    /// <c>--data-dir DIR</c> (or <c>--data-dir=DIR</c>), else <c>CCFLARE_DATA_DIR</c>, else
    /// <c>$XDG_CONFIG_HOME/ccflare</c>, else <c>~/.config/ccflare</c>.
    /// </summary>
    public static string Resolve(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == Option && i + 1 < args.Count)
            {
                return Path.GetFullPath(args[i + 1]);
            }
            if (args[i].StartsWith(Option + "=", StringComparison.Ordinal))
            {
                return Path.GetFullPath(args[i][(Option.Length + 1)..]);
            }
        }
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnv)
        {
            return Path.GetFullPath(fromEnv);
        }
        var configHome = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(configHome))
        {
            configHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        }
        return Path.Combine(configHome, "ccflare");
    }

    /// <summary>The Data Protection key ring directory inside <paramref name="dataDir"/>; the server must use the same one.</summary>
    public static string KeysPath(string dataDir) => Path.Combine(dataDir, "keys");
}
