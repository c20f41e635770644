using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.Security;

/// <summary>
/// On Unix the data directory is 0700 and the database, its journal files and the key files are 0600: other users
/// of the machine read neither prompts nor encrypted credentials. The process umask here is the usual 022, which
/// would otherwise give 0755 directories and 0644 files.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataFilePermissionTests : IDisposable
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ccflare-modes-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("litedb")]
    public async Task Database_journal_and_key_files_are_owner_only(string kind)
    {
        Assert.False(OperatingSystem.IsWindows(), "Unix file modes are checked on Unix runners.");
        var data = Path.Combine(_dir, "data");
        var keys = Path.Combine(_dir, "keys");
        var upstream = await FakeUpstream.StartAsync();
        await using (upstream)
        await using (var host = await CcflareTestHost.StartAsync(
            o => o.DataProtectionKeysPath = keys,
            build: b => _ = kind == "sqlite" ? b.UseSqliteStorage(Path.Combine(data, "ccflare.db")) : b.UseLiteDbStorage(Path.Combine(data, "ccflare.litedb"))))
        {
            await host.AddAccountAsync("acc", "anthropic", "sk-ant-modes", upstream.BaseUrl);
            using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
            await host.DrainHistoryAsync();

            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(data));
            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(keys));
            var files = Directory.GetFiles(data);
            Assert.Contains(files, f => f.EndsWith(kind == "sqlite" ? "ccflare.db-wal" : "ccflare-log.litedb", StringComparison.Ordinal));
            foreach (var file in files.Concat(Directory.GetFiles(keys)))
            {
                Assert.True(OwnerOnlyFile == File.GetUnixFileMode(file), $"{file}: {File.GetUnixFileMode(file)}");
            }
            Assert.NotEmpty(Directory.GetFiles(keys, "key-*.xml"));
        }
    }

    [Fact]
    public async Task An_existing_world_readable_database_is_narrowed_when_opened()
    {
        Assert.False(OperatingSystem.IsWindows(), "Unix file modes are checked on Unix runners.");
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "old.db");
        File.WriteAllBytes(path, []);
        File.SetUnixFileMode(path, OwnerOnlyFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(_dir, OwnerOnlyDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        var store = new Ccflare.Storage.Sqlite.SqliteStore(new Ccflare.Storage.Sqlite.SqliteStorageOptions { DatabasePath = path });
        await store.InitializeAsync(CancellationToken.None);
        await store.DisposeAsync();

        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(path));
        Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(_dir));
    }
}
