using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui.Screens;

/// <summary>Accounts: list with rate-limit, session and token status; add (API key), pause, resume, remove.</summary>
internal sealed class AccountsScreen(CcflareApiClient api, TimeProvider time) : TuiScreen(api, time)
{
    public const string AddAction = "Add an API-key account";
    public const string PauseAction = "Pause an account";
    public const string ResumeAction = "Resume an account";
    public const string RemoveAction = "Remove an account";
    public const string RefreshAction = "Refresh";
    public const string BackAction = "Back to menu";
    public const string Cancel = "(cancel)";

    public override string Title => "Accounts";

    public override async Task RenderAsync(IAnsiConsole console, CancellationToken cancellationToken) =>
        await LoadAndRenderAsync(console, cancellationToken).ConfigureAwait(false);

    public override async Task RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        while (true)
        {
            var accounts = await LoadAndRenderAsync(console, cancellationToken).ConfigureAwait(false);
            var action = await new SelectionPrompt<string>()
                .Title("Accounts: what next?")
                .AddChoices(AddAction, PauseAction, ResumeAction, RemoveAction, RefreshAction, BackAction)
                .ShowAsync(console, cancellationToken).ConfigureAwait(false);
            switch (action)
            {
                case AddAction:
                    await AddAsync(console, cancellationToken).ConfigureAwait(false);
                    break;
                case PauseAction:
                    if (await PickAsync(console, accounts, a => !a.Paused, "Pause which account?", "No account can be paused.", cancellationToken).ConfigureAwait(false) is { } toPause)
                    {
                        ShowOutcome(console, await Api.PauseAccountAsync(toPause.Id, cancellationToken).ConfigureAwait(false), $"Account '{toPause.Name}' paused");
                    }
                    break;
                case ResumeAction:
                    if (await PickAsync(console, accounts, a => a.Paused, "Resume which account?", "No account is paused.", cancellationToken).ConfigureAwait(false) is { } toResume)
                    {
                        ShowOutcome(console, await Api.ResumeAccountAsync(toResume.Id, cancellationToken).ConfigureAwait(false), $"Account '{toResume.Name}' resumed");
                    }
                    break;
                case RemoveAction:
                    await RemoveAsync(console, accounts, cancellationToken).ConfigureAwait(false);
                    break;
                case BackAction:
                    return;
            }
        }
    }

    private async Task<List<AccountInfo>> LoadAndRenderAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        Heading(console);
        var result = await Api.GetAccountsAsync(cancellationToken).ConfigureAwait(false);
        if (!result.Ok)
        {
            ShowProblem(console, "Accounts", result);
            return [];
        }
        var accounts = result.Value!;
        if (accounts.Count == 0)
        {
            console.MarkupLine("[grey]No accounts yet. Add one with an API key, or with --add-account.[/]");
            return accounts;
        }

        var now = Time.GetUtcNow();
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn(new TableColumn("Name").NoWrap()).AddColumn("Provider").AddColumn("Auth").AddColumn(new TableColumn("Weight").RightAligned())
            .AddColumn("State").AddColumn("Rate limit").AddColumn("Session").AddColumn("Token")
            .AddColumn(new TableColumn("Requests").RightAligned()).AddColumn("Last used");
        foreach (var a in accounts)
        {
            table.AddRow(
                Markup.Escape(a.Name),
                a.ProviderConfigured ? Markup.Escape(a.Provider ?? "-") : $"{Markup.Escape(a.Provider ?? "-")} [red](not configured)[/]",
                Markup.Escape(a.AuthMethod ?? "-"),
                a.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture),
                State(a, now),
                RateLimit(a, now),
                a.SessionInfo is { Active: true } s ? $"active ({TuiFormat.Number(s.RequestCount)} req)" : "[grey]-[/]",
                Token(a, now),
                $"{TuiFormat.Number(a.RequestCount)} / {TuiFormat.Number(a.TotalRequests)}",
                TuiFormat.Ago(a.LastUsed, now));
        }
        console.Write(table);
        return accounts;
    }

    private static string State(AccountInfo a, DateTimeOffset now)
    {
        if (a.Paused)
        {
            return "[yellow]paused[/]";
        }
        if (a.RateLimitStatus is { IsLimited: true } limit)
        {
            return $"[red]rate limited {Markup.Escape(TuiFormat.In(limit.Until, now))}[/]";
        }
        return "[green]active[/]";
    }

    private static string RateLimit(AccountInfo a, DateTimeOffset now)
    {
        var parts = new List<string> { Markup.Escape(a.RateLimitStatus?.Code ?? "ok") };
        if (a.RateLimitRemaining is { } remaining)
        {
            parts.Add($"{TuiFormat.Number(remaining)} left");
        }
        if (a.RateLimitReset is { } reset && reset > now)
        {
            parts.Add("resets " + TuiFormat.In(reset, now));
        }
        return string.Join(", ", parts);
    }

    private static string Token(AccountInfo a, DateTimeOffset now)
    {
        var status = a.TokenStatus ?? "-";
        var color = status == "valid" ? "green" : "red";
        var text = $"[{color}]{Markup.Escape(status)}[/]";
        return a.TokenExpiresAt is { } expires ? $"{text} (expires {Markup.Escape(TuiFormat.In(expires, now))})" : text;
    }

    private static async Task<AccountInfo?> PickAsync(
        IAnsiConsole console, List<AccountInfo> accounts, Func<AccountInfo, bool> eligible, string title, string none, CancellationToken cancellationToken)
    {
        var candidates = accounts.Where(eligible).ToList();
        if (candidates.Count == 0)
        {
            console.MarkupLine($"[yellow]{Markup.Escape(none)}[/]");
            return null;
        }
        var name = await new SelectionPrompt<string>()
            .Title(Markup.Escape(title))
            .AddChoices(candidates.Select(a => a.Name).Append(Cancel))
            .UseConverter(Markup.Escape)
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);
        return candidates.Find(a => a.Name == name);
    }

    private async Task AddAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var name = await new TextPrompt<string>("Account name:")
            .Validate(n => string.IsNullOrWhiteSpace(n) ? ValidationResult.Error("[red]A name is required.[/]") : ValidationResult.Success())
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);
        var providers = await Api.GetProvidersAsync(cancellationToken).ConfigureAwait(false);
        if (!providers.Ok || providers.Value is not { Count: > 0 } known)
        {
            ShowProblem(console, "Providers", providers);
            return;
        }
        var provider = await new SelectionPrompt<ProviderInfo>()
            .Title("Provider:")
            .AddChoices(known)
            .UseConverter(p => $"{Markup.Escape(p.Name)} [grey]({Markup.Escape(p.Family ?? "?")} family, {Markup.Escape(string.Join(" or ", p.AuthMethods ?? []))})[/]")
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);
        var apiKey = await new TextPrompt<string>("API key (hidden):")
            .Secret()
            .Validate(k => string.IsNullOrWhiteSpace(k) ? ValidationResult.Error("[red]An API key is required.[/]") : ValidationResult.Success())
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);
        var baseUrl = await new TextPrompt<string>("Base URL (empty for the provider's default):")
            .AllowEmpty()
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);
        var weight = await new TextPrompt<int>("Weight:")
            .DefaultValue(1)
            .Validate(w => w is >= 1 and <= 1000 ? ValidationResult.Success() : ValidationResult.Error("[red]Weight must be between 1 and 1000.[/]"))
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);

        var account = new NewApiKeyAccount(name.Trim(), provider.Name, apiKey.Trim(), string.IsNullOrWhiteSpace(baseUrl) ? null : baseUrl.Trim(), weight);
        ShowOutcome(console, await Api.AddApiKeyAccountAsync(account, cancellationToken).ConfigureAwait(false), $"Account '{account.Name}' added");
    }

    private async Task RemoveAsync(IAnsiConsole console, List<AccountInfo> accounts, CancellationToken cancellationToken)
    {
        if (await PickAsync(console, accounts, _ => true, "Remove which account?", "There are no accounts.", cancellationToken).ConfigureAwait(false) is not { } account)
        {
            return;
        }
        var confirmed = await new ConfirmationPrompt($"Remove account [bold]{Markup.Escape(account.Name)}[/]? This cannot be undone.") { DefaultValue = false }
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);
        if (!confirmed)
        {
            console.MarkupLine("[grey]Nothing removed.[/]");
            return;
        }
        ShowOutcome(console, await Api.RemoveAccountAsync(account.Id, cancellationToken).ConfigureAwait(false), $"Account '{account.Name}' removed");
    }
}
