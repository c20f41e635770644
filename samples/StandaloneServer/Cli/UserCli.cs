using System.Globalization;
using Ccflare.Security;
using Microsoft.Extensions.Options;

namespace Ccflare.StandaloneServer.Cli;

/// <summary>
/// <c>--add-user NAME</c> and <c>--list-users</c>. The key of a new user is printed once, at
/// creation; only its SHA-256 is stored, so no command can print it again.
/// </summary>
internal static class UserCli
{
    /// <summary>Runs a user command and returns its exit code, or null when <paramref name="args"/> hold none.</summary>
    public static async Task<int?> TryRunAsync(string[] args, IServiceProvider services, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var add = Array.IndexOf(args, "--add-user");
        var list = Array.IndexOf(args, "--list-users");
        if (add < 0 && list < 0)
        {
            return null;
        }

        var store = services.GetRequiredService<ICcflareStore>();
        await store.InitializeAsync(CancellationToken.None).ConfigureAwait(false);
        var keys = services.GetRequiredService<AccessKeyService>();

        if (add >= 0)
        {
            if (add + 1 >= args.Length || args[add + 1].StartsWith("--", StringComparison.Ordinal))
            {
                await stderr.WriteLineAsync("Usage: --add-user NAME").ConfigureAwait(false);
                return 2;
            }
            var created = await keys.CreateUserAsync(args[add + 1]).ConfigureAwait(false);
            if (!created.Succeeded)
            {
                await stderr.WriteLineAsync(created.Error).ConfigureAwait(false);
                return 1;
            }
            await stdout.WriteLineAsync($"User '{created.User!.Name}' added (id {created.User.Id}).").ConfigureAwait(false);
            await stdout.WriteLineAsync($"Access key: {created.Key}").ConfigureAwait(false);
            await stdout.WriteLineAsync("Store it now: it is not shown again (only its hash is kept).").ConfigureAwait(false);
            if (!services.GetRequiredService<IOptions<CcflareOptions>>().Value.RequireAccessKeys)
            {
                await stdout.WriteLineAsync("Note: require_access_keys is off, so the proxy does not ask for keys yet.").ConfigureAwait(false);
            }
            return 0;
        }

        var users = await keys.ListAsync().ConfigureAwait(false);
        if (users.Count == 0)
        {
            await stdout.WriteLineAsync("No users.").ConfigureAwait(false);
            return 0;
        }
        await stdout.WriteLineAsync("ID                                    NAME                  CREATED").ConfigureAwait(false);
        foreach (var user in users)
        {
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{user.Id,-37} {user.Name,-21} {user.CreatedAt:u}")).ConfigureAwait(false);
        }
        return 0;
    }
}
