using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Providers;
using Ccflare.Proxy;
using Ccflare.Strategies;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Usage.Polling;

/// <summary>
/// Asks the usage endpoint of each OAuth account's provider for its usage windows every
/// <see cref="UsageOptions.PollIntervalSeconds"/> (off when 0), so an account's windows are known,
/// and keep moving towards their resets, even while it serves no requests. The provider builds the
/// request and reads the answer; this only schedules. What it reads goes into the account the way a
/// response's headers do (<see cref="AccountRegistry.RecordUsage"/>), so the near-limit rule, the
/// store, the metrics and <c>/api/accounts</c> see it.
/// Each poll runs on its own with its own timeout and HTTP client, holds no lock the proxy takes, and
/// is never awaited by a request: a slow or failing endpoint cannot hold up routing.
/// </summary>
internal sealed class UsagePoller : BackgroundService
{
    public const string HttpClientName = "Ccflare.Usage";

    /// <summary>The shortest interval accepted, so that an endpoint is not hammered.</summary>
    public const int MinimumIntervalSeconds = 10;

    /// <summary>The longest interval accepted (a day).</summary>
    public const int MaximumIntervalSeconds = 86_400;

    /// <summary>How long one poll (credential, request and answer) may take before it counts as failed.</summary>
    internal static readonly TimeSpan PollTimeout = TimeSpan.FromSeconds(30);

    private const int MaxAnswerBytes = 64 * 1024;

    private readonly AccountRegistry _registry;
    private readonly NearLimitPolicy _nearLimit;
    private readonly ProviderRegistry _providers;
    private readonly IAccountCredentials _credentials;
    private readonly IHttpClientFactory _httpClients;
    private readonly UsagePollSchedule _schedule;
    private readonly TimeProvider _time;
    private readonly ILogger<UsagePoller> _logger;
    private readonly Counter<long> _polls;
    private readonly bool _enabled;

    public UsagePoller(
        AccountRegistry registry,
        NearLimitPolicy nearLimit,
        ProviderRegistry providers,
        IAccountCredentials credentials,
        IHttpClientFactory httpClients,
        UsagePollSchedule schedule,
        IOptions<CcflareOptions> options,
        TimeProvider time,
        CcflareMetrics metrics,
        ILogger<UsagePoller> logger)
    {
        _registry = registry;
        _nearLimit = nearLimit;
        _providers = providers;
        _credentials = credentials;
        _httpClients = httpClients;
        _schedule = schedule;
        _time = time;
        _logger = logger;
        _enabled = options.Value.Usage.PollIntervalSeconds > 0;
        _polls = metrics.CreateCounter("ccflare.usage.polls", "{poll}",
            "Usage endpoint polls, by provider and outcome (success, http_error, rate_limited, timeout, unreachable, invalid, no_credential, error).");
    }

    /// <summary>The schedule of one account; touched by the loop while no poll of it runs, and by that poll while it runs.</summary>
    private sealed class AccountPolls(DateTimeOffset dueAt)
    {
        public DateTimeOffset DueAt = dueAt;
        public int Failures;
        public Task? Running;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_enabled)
        {
            return;
        }
        Log.UsagePollingStarted(_logger, _schedule.Interval);
        var accounts = new Dictionary<string, AccountPolls>(StringComparer.Ordinal);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var wakeAt = PollDueAccounts(accounts, stoppingToken);
                var wait = wakeAt - _time.GetUtcNow();
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, _time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        foreach (var polls in accounts.Values)
        {
            if (polls.Running is { } running)
            {
                await running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Starts the polls that are due and returns when to look again: at the next due poll, and at least once per interval for new accounts.</summary>
    private DateTimeOffset PollDueAccounts(Dictionary<string, AccountPolls> accounts, CancellationToken stoppingToken)
    {
        var now = _time.GetUtcNow();
        var wakeAt = now + _schedule.Interval;
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var account in _registry.All)
        {
            present.Add(account.Id);
            if (!accounts.TryGetValue(account.Id, out var polls))
            {
                accounts[account.Id] = polls = new AccountPolls(now + _schedule.First());
            }
            if (polls.Running is { IsCompleted: false })
            {
                continue;
            }
            if (polls.Running is { IsFaulted: true })
            {
                // A poll that ended without scheduling the next one must not be retried at once.
                polls.Failures++;
                polls.DueAt = now + _schedule.AfterFailure(polls.Failures, null);
            }
            polls.Running = null;
            if (polls.DueAt <= now)
            {
                if (Polled(account) is { } provider)
                {
                    polls.Running = PollAsync(account, provider, polls, stoppingToken);
                    continue;
                }
                // Not polled now (paused, refresh failed, not OAuth): looked at again after an interval.
                polls.DueAt = now + _schedule.AfterSuccess();
            }
            if (polls.DueAt < wakeAt)
            {
                wakeAt = polls.DueAt;
            }
        }
        foreach (var id in accounts.Keys)
        {
            if (!present.Contains(id) && accounts[id].Running is not { IsCompleted: false })
            {
                accounts.Remove(id);
            }
        }
        return wakeAt;
    }

    /// <summary>The account's provider when the account is polled now: an OAuth account, not paused, whose token was not refused, of a provider with a usage endpoint.</summary>
    private UpstreamProvider? Polled(AccountState account)
    {
        var snapshot = account.Snapshot;
        if (snapshot.Paused || snapshot.AuthMethod != AccountAuthMethods.OAuth || snapshot.TokenStatus is not null)
        {
            return null;
        }
        return _providers.Find(snapshot.Provider) is { UsageUrl: not null } provider ? provider : null;
    }

    private async Task PollAsync(AccountState account, UpstreamProvider provider, AccountPolls polls, CancellationToken stoppingToken)
    {
        await Task.Yield();
        var sentAt = _time.GetUtcNow();
        var (outcome, reason, statusCode, retryAfter) = await AskAsync(account, provider, sentAt, stoppingToken).ConfigureAwait(false);
        if (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        _polls.Add(1, new KeyValuePair<string, object?>("provider", provider.Name), new KeyValuePair<string, object?>("outcome", outcome));
        TimeSpan wait;
        if (outcome == PollOutcomes.Success)
        {
            polls.Failures = 0;
            wait = _schedule.AfterSuccess();
            Log.UsagePolled(_logger, provider.Name, account.Name);
        }
        else
        {
            polls.Failures++;
            wait = _schedule.AfterFailure(polls.Failures, retryAfter);
            if (statusCode is { } status)
            {
                Log.UsagePollRefused(_logger, provider.Name, account.Name, status, wait);
            }
            else
            {
                Log.UsagePollFailed(_logger, provider.Name, account.Name, outcome, reason ?? outcome, wait);
            }
        }
        polls.DueAt = _time.GetUtcNow() + wait;
    }

    /// <summary>One request to the usage endpoint. Never throws: every failure is an outcome.</summary>
    private async Task<(string Outcome, string? Reason, int? StatusCode, TimeSpan? RetryAfter)> AskAsync(
        AccountState account, UpstreamProvider provider, DateTimeOffset sentAt, CancellationToken stoppingToken)
    {
        using var timeout = new CancellationTokenSource(PollTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        try
        {
            var token = await _credentials.GetSecretAsync(account, linked.Token).ConfigureAwait(false);
            if (string.IsNullOrEmpty(token))
            {
                return (PollOutcomes.NoCredential, "the account has no usable access token", null, null);
            }
            using var request = provider.CreateUsageRequest(account.Snapshot, token);
            var client = _httpClients.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var now = _time.GetUtcNow();
                var raw = response.Headers.NonValidated.TryGetValues("retry-after", out var values) ? values.ToString() : null;
                return (PollOutcomes.RateLimited, null, status, ResponseHeaderValues.RetryAfter(raw, now) - now);
            }
            if (!response.IsSuccessStatusCode)
            {
                return (PollOutcomes.HttpError, null, status, null);
            }
            var usage = await ReadAnswerAsync(response, provider, sentAt, linked.Token).ConfigureAwait(false);
            if (usage is null)
            {
                return (PollOutcomes.Invalid, "the answer is not usage in the endpoint's shape", null, null);
            }
            _registry.RecordUsage(account, usage);
            _nearLimit.Observe(account);
            return (PollOutcomes.Success, null, status, null);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
        {
            return (PollOutcomes.Timeout, $"no answer within {PollTimeout.TotalSeconds:0} s", null, null);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return (PollOutcomes.Timeout, "stopping", null, null);
        }
        catch (HttpRequestException ex)
        {
            return (PollOutcomes.Unreachable, ex.Message, null, null);
        }
        catch (IOException ex)
        {
            return (PollOutcomes.Unreachable, ex.Message, null, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (PollOutcomes.Error, ex.GetType().Name, null, null);
        }
    }

    /// <summary>
    /// The provider's reading of the answer, stamped with the instant the poll was sent: an endpoint
    /// answer is at least that fresh, and anything a response reported after it counts as fresher.
    /// </summary>
    private static async Task<AccountUsage?> ReadAnswerAsync(HttpResponseMessage response, UpstreamProvider provider, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > MaxAnswerBytes)
        {
            return null;
        }
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxAnswerBytes + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }
            if (length > MaxAnswerBytes)
            {
                return null;
            }
            try
            {
                using var answer = JsonDocument.Parse(buffer.AsMemory(0, length));
                return provider.ReadUsageEndpoint(answer.RootElement, sentAt);
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    /// <summary>Values of the <c>outcome</c> tag of <c>ccflare.usage.polls</c>.</summary>
    internal static class PollOutcomes
    {
        public const string Success = "success";
        public const string HttpError = "http_error";
        public const string RateLimited = "rate_limited";
        public const string Timeout = "timeout";
        public const string Unreachable = "unreachable";
        public const string Invalid = "invalid";
        public const string NoCredential = "no_credential";
        public const string Error = "error";
    }
}
