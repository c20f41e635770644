using Ccflare.Diagnostics;
using Ccflare.Pricing;
using Ccflare.Storage;
using Ccflare.Usage;
using Microsoft.Extensions.Logging;

namespace Ccflare.Recording.Journal;

/// <summary>
/// Brings the store up to the journal after a crash. Idempotent, so a crash during it (or right
/// after it, before the journal is emptied) changes nothing on the next run: a row the store has is
/// skipped, never written again, and counters only ever rise to the journal's values.
/// </summary>
internal static class JournalReplay
{
    public static async Task RunAsync(IReadOnlyList<string> files, ICcflareStore store, Accounts.AccountStore accounts, PriceTable prices, int batchSize, ILogger logger, CancellationToken cancellationToken)
    {
        var lines = new Dictionary<string, JournalLine>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            ReadFile(file, lines, logger);
        }
        if (lines.Count == 0)
        {
            return;
        }

        var from = DateTimeOffset.MaxValue;
        var to = DateTimeOffset.MinValue;
        foreach (var line in lines.Values)
        {
            from = line.Row.Timestamp < from ? line.Row.Timestamp : from;
            to = line.Row.Timestamp > to ? line.Row.Timestamp : to;
        }
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in store.QueryRequestsAsync(new RequestQuery { From = from, To = to.AddMilliseconds(1) }, cancellationToken).ConfigureAwait(false))
        {
            if (lines.ContainsKey(row.Id))
            {
                stored.Add(row.Id);
            }
        }

        var missing = lines.Values.Where(l => !stored.Contains(l.Row.Id)).OrderBy(l => l.Row.Timestamp).ToList();
        var chains = new ResponseChains();
        var batch = new List<RequestRecord>(Math.Min(batchSize, missing.Count));
        foreach (var line in missing)
        {
            batch.Add(Complete(line, prices, chains));
            if (batch.Count == batchSize)
            {
                await store.WriteRequestsAsync(batch, cancellationToken).ConfigureAwait(false);
                batch.Clear();
            }
        }
        if (batch.Count > 0)
        {
            await store.WriteRequestsAsync(batch, cancellationToken).ConfigureAwait(false);
        }

        await RaiseCountersAsync(lines.Values, accounts, cancellationToken).ConfigureAwait(false);
        Log.JournalReplayed(logger, missing.Count, stored.Count, files.Count);
    }

    private static void ReadFile(string path, Dictionary<string, JournalLine> lines, ILogger logger)
    {
        var bytes = File.ReadAllBytes(path);
        var span = bytes.AsSpan();
        var number = 0;
        while (!span.IsEmpty)
        {
            number++;
            var end = span.IndexOf((byte)'\n');
            // A last line without its newline was cut short (power loss); read it all the same, the parser rejects a torn one.
            var text = end < 0 ? span : span[..end];
            span = end < 0 ? default : span[(end + 1)..];
            if (text.IsEmpty)
            {
                continue;
            }
            if (JournalLineFormat.Read(text) is { } line)
            {
                lines[line.Row.Id] = line;
            }
            else
            {
                Log.JournalLineSkipped(logger, path, number);
            }
        }
    }

    /// <summary>Adds what the journal leaves out because it is derived: the cost and the response chain.</summary>
    private static RequestRecord Complete(JournalLine line, PriceTable prices, ResponseChains chains)
    {
        var row = line.Row;
        var usage = new UsageInfo
        {
            InputTokens = row.InputTokens,
            OutputTokens = row.OutputTokens,
            CacheReadInputTokens = row.CacheReadInputTokens,
            CacheCreationInputTokens = row.CacheCreationInputTokens,
            ReasoningTokens = row.ReasoningTokens,
            PromptTokens = row.PromptTokens,
            CompletionTokens = row.CompletionTokens,
            TotalTokens = row.TotalTokens,
            ResponseId = row.ResponseId,
            Model = row.Model,
            Format = line.Format,
        };
        return row with
        {
            CostUsd = prices.Cost(row.Model, usage, out _, out var estimated),
            CostEstimated = estimated,
            ResponseChainId = RecordBuilder.ResolveChain(chains, line.Format, row.ResponseId, row.PreviousResponseId),
        };
    }

    private static async Task RaiseCountersAsync(IEnumerable<JournalLine> lines, Accounts.AccountStore store, CancellationToken cancellationToken)
    {
        var latest = new Dictionary<string, JournaledCounters>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            if (line.Counters is { } counters && (!latest.TryGetValue(counters.AccountId, out var seen) || counters.TotalRequests > seen.TotalRequests))
            {
                latest[counters.AccountId] = counters;
            }
        }
        if (latest.Count == 0)
        {
            return;
        }
        foreach (var account in await store.GetAccountsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!latest.TryGetValue(account.Id, out var counters) || counters.TotalRequests <= account.TotalRequests
                || account.TokenStatus == Accounts.AccountStore.DecryptFailedStatus)
            {
                continue;
            }
            // The journal saw later requests than the stored row: its counters are the newer ones.
            var raised = account with
            {
                TotalRequests = counters.TotalRequests,
                RequestCount = counters.RequestCount,
                SessionRequestCount = counters.SessionRequestCount,
                LastUsed = account.LastUsed is { } last && last > counters.LastUsed ? last : counters.LastUsed,
            };
            if (store.CanUpdateStateOnly)
            {
                await store.UpdateAccountStateAsync(raised, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await store.UpdateAccountAsync(raised, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
