using Ccflare.StandaloneServer.Cli;

namespace Ccflare.StandaloneServer;

internal static class StandaloneProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        // Account commands (--add-account, --list, --remove, --pause, --resume) run and exit.
        // Interim store: swap JsonFileStore for the SQLite store of the data directory once it is merged.
        if (await AccountCli.TryRunAsync(args, static dataDir => new JsonFileStore(dataDir)).ConfigureAwait(false) is { } exitCode)
        {
            return exitCode;
        }

        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddCcflare();
        var app = builder.Build();
        app.MapCcflare();
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }
}
