using Microsoft.Playwright;

namespace Ccflare.Dashboard.Tests;

/// <summary>A browser tab on the dashboard that records console errors, page errors and failed responses.</summary>
internal sealed class DashboardPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;

    private DashboardPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (Errors)
                {
                    Errors.Add($"console: {message.Text}");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (Errors)
            {
                Errors.Add($"page error: {error}");
            }
        };
        page.Response += (_, response) =>
        {
            lock (ApiCalls)
            {
                ApiCalls.Add(response.Url);
            }
            if (response.Status >= 400)
            {
                lock (Errors)
                {
                    Errors.Add($"HTTP {response.Status} {response.Url}");
                }
            }
        };
    }

    public IPage Page { get; }

    public List<string> Errors { get; } = [];

    public List<string> ApiCalls { get; } = [];

    public bool Called(string fragment)
    {
        lock (ApiCalls)
        {
            return ApiCalls.Exists(u => u.Contains(fragment, StringComparison.Ordinal));
        }
    }

    public static async Task<DashboardPage> OpenAsync(BrowserFixture browser, string url, string colorScheme = "light")
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            ColorScheme = colorScheme == "dark" ? ColorScheme.Dark : ColorScheme.Light,
            Locale = "en-US",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        var tab = new DashboardPage(context, page);
        await page.GotoAsync(url);
        return tab;
    }

    /// <summary>Saves a full-page screenshot under TestResults/screenshots.</summary>
    public async Task ScreenshotAsync(string name)
    {
        // Charts are drawn on the first animation frame after they are attached: wait for every
        // figure to hold its canvas (a condition, not a fixed sleep).
        await Page.WaitForFunctionAsync("() => [...document.querySelectorAll('figure.chart')].every(f => f.querySelector('canvas') !== null)");
        // A modal dialog is fixed to the viewport: capture the viewport then; otherwise the whole page from the top.
        var modalOpen = await Page.Locator("dialog[open]").CountAsync() > 0;
        if (!modalOpen)
        {
            await Page.EvaluateAsync("window.scrollTo(0, 0)");
        }
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = !modalOpen });
    }

    /// <summary>
    /// Accepts the one failed response a test provoked on purpose (and the console line Chromium writes for it);
    /// fails when it was not recorded.
    /// </summary>
    public void ExpectHttpError(int status, string urlFragment)
    {
        lock (Errors)
        {
            var response = Errors.FindIndex(e => e.StartsWith($"HTTP {status} ", StringComparison.Ordinal) && e.Contains(urlFragment, StringComparison.Ordinal));
            Assert.True(response >= 0, $"Expected a failed response HTTP {status} for {urlFragment}; recorded:\n" + string.Join("\n", Errors));
            Errors.RemoveAt(response);
            Errors.RemoveAll(e => e.StartsWith("console: Failed to load resource", StringComparison.Ordinal) && e.Contains($"status of {status}", StringComparison.Ordinal));
        }
    }

    public void AssertNoErrors()
    {
        lock (Errors)
        {
            Assert.True(Errors.Count == 0, "Browser errors:\n" + string.Join("\n", Errors));
        }
    }

    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}
