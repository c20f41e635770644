using Microsoft.Playwright;

namespace Ccflare.Dashboard.Tests;

/// <summary>
/// One headless Chromium for the whole test run: Debian's /usr/bin/chromium driven by Playwright
/// (Playwright's own browser download is not available here). Override the path with CHROMIUM_PATH.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots go: TestResults/screenshots next to the test project.</summary>
    public static string ScreenshotDirectory { get; } = Environment.GetEnvironmentVariable("CCFLARE_SCREENSHOTS_DIR")
        ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "TestResults", "screenshots"));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        _playwright = await Playwright.CreateAsync();
        var executable = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Chromium not found at {executable}: install it with 'apt-get install -y chromium' (or set CHROMIUM_PATH).");
        }
        // Playwright refuses "--user-data-dir" in Args: Launch always starts Chromium with a fresh
        // temporary profile of its own (deleted on close), which is what we want.
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
