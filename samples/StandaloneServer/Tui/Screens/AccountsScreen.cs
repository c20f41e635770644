using Spectre.Console;

namespace Ccflare.StandaloneServer.Tui.Screens;

/// <summary>
/// Accounts: list with usage windows (bar, percentage, reset countdown), near-limit marker, priority,
/// rate-limit, session and token status; remaining capacity per provider; add (API key), pause, resume,
/// remove, set priority.
/// </summary>
internal sealed class AccountsScreen(CcflareApiClient api, TimeProvider time) : TuiScreen(api, time)
{
    public const string AddAction = "Add an API-key account";
    public const string PauseAction = "Pause an account";
    public const string ResumeAction = "Resume an account";
    public const string RemoveAction = "Remove an account";
    public const string PriorityAction = "Set an account's priority";
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
                .AddChoices(AddAction, PauseAction, ResumeAction, RemoveAction, PriorityAction, RefreshAction, BackAction)
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
                case PriorityAction:
                    await SetPriorityAsync(console, accounts, cancellationToken).ConfigureAwait(false);
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
            .AddColumn(new TableColumn("Name").NoWrap()).AddColumn("Provider").AddColumn("Auth")
            .AddColumn(new TableColumn("Priority").RightAligned()).AddColumn(new TableColumn("Weight").RightAligned())
            .AddColumn("State").AddColumn(new TableColumn("Usage windows").NoWrap()).AddColumn("Rate limit").AddColumn("Session").AddColumn("Token")
            .AddColumn(new TableColumn("Requests").RightAligned()).AddColumn("Last used");
        foreach (var a in accounts)
        {
            table.AddRow(
                Markup.Escape(a.Name),
                a.ProviderConfigured ? Markup.Escape(a.Provider ?? "-") : $"{Markup.Escape(a.Provider ?? "-")} [red](not configured)[/]",
                Markup.Escape(a.AuthMethod ?? "-"),
                a.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture),
                a.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture),
                State(a, now),
                UsageWindows(a, now),
                RateLimit(a, now),
                a.SessionInfo is { Active: true } s ? $"active ({TuiFormat.Number(s.RequestCount)} req)" : "[grey]-[/]",
                Token(a, now),
                $"{TuiFormat.Number(a.RequestCount)} / {TuiFormat.Number(a.TotalRequests)}",
                TuiFormat.Ago(a.LastUsed, now));
        }
        console.Write(table);
        WriteCapacity(console, accounts);
        return accounts;
    }

    /// <summary>One line per window: name, a ten-cell bar, the percentage and the time to its reset.</summary>
    private static string UsageWindows(AccountInfo a, DateTimeOffset now)
    {
        if (a.Usage?.Windows is not { Count: > 0 } windows)
        {
            return "[grey]no usage reported[/]";
        }
        var width = windows.Max(w => w.Name.Length);
        var lines = new List<string>(windows.Count);
        foreach (var w in windows)
        {
            var color = w.Name == a.NearLimitWindow || w.Status == "rejected" ? "red" : w.Status == "allowed_warning" ? "yellow" : "green";
            var filled = w.Utilization is { } u ? (int)Math.Round(Math.Clamp(u, 0, 1) * 10) : 0;
            var percent = w.Utilization is { } used ? TuiFormat.Percent(Math.Round(used * 100, 1)) : "-";
            var reset = w.ResetsAt is { } at ? "resets " + TuiFormat.In(at, now) : "no reset known";
            lines.Add($"{Markup.Escape(w.Name.PadRight(width))} [{color}]{new string('█', filled)}[/][grey]{new string('░', 10 - filled)}[/] {percent,5} {Markup.Escape(reset)}");
        }
        return string.Join('\n', lines);
    }

    /// <summary>
    /// Remaining capacity per provider, as the dashboard's overview defines it: the sum of the active
    /// accounts' headroom (the free share of each one's fullest window that limits every model), in accounts.
    /// </summary>
    private static void WriteCapacity(IAnsiConsole console, List<AccountInfo> accounts)
    {
        var parts = new List<string>();
        foreach (var group in accounts.Where(a => !a.Paused && a.ProviderConfigured).GroupBy(a => a.Provider ?? "-").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var reporting = group.Where(a => a.Headroom is not null).ToList();
            var near = group.Count(a => a.NearLimit);
            if (reporting.Count == 0)
            {
                parts.Add($"{Markup.Escape(group.Key)} [grey]no usage data[/]");
                continue;
            }
            var remaining = reporting.Sum(a => a.Headroom!.Value);
            var text = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{remaining:0.00} of {reporting.Count} account{(reporting.Count == 1 ? "" : "s")} (mean {TuiFormat.Percent(Math.Round(remaining / reporting.Count * 100, 1))})");
            parts.Add($"{Markup.Escape(group.Key)} {text}{(near > 0 ? $", [red]{near} near limit[/]" : "")}");
        }
        if (parts.Count > 0)
        {
            console.MarkupLine("Remaining capacity (sum of active accounts' headroom): " + string.Join("; ", parts));
        }
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
        return a.NearLimit ? $"[green]active[/], [red]near limit: {Markup.Escape(a.NearLimitWindow ?? "?")}[/]" : "[green]active[/]";
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

    private async Task SetPriorityAsync(IAnsiConsole console, List<AccountInfo> accounts, CancellationToken cancellationToken)
    {
        if (await PickAsync(console, accounts, _ => true, "Set the priority of which account?", "There are no accounts.", cancellationToken).ConfigureAwait(false) is not { } account)
        {
            return;
        }
        // The server checks the range and says what is wrong; the prompt only asks for a whole number.
        var priority = await new TextPrompt<int>($"Priority of [bold]{Markup.Escape(account.Name)}[/] (0 is the most preferred):")
            .DefaultValue(account.Priority)
            .ShowAsync(console, cancellationToken).ConfigureAwait(false);
        ShowOutcome(console, await Api.SetPriorityAsync(account.Id, priority, cancellationToken).ConfigureAwait(false), $"Priority of '{account.Name}' set to {priority}");
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
