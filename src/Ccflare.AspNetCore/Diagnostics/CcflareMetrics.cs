using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ccflare.Providers;

namespace Ccflare.Diagnostics;

/// <summary>
/// The <c>Ccflare</c> meter and activity source. Instruments:
/// <c>ccflare.requests</c>, <c>ccflare.failovers</c>, <c>ccflare.rate_limit.events</c>,
/// <c>ccflare.write_queue.depth</c>, <c>ccflare.write_queue.dropped</c> (tag <c>kind</c> = row | payload),
/// <c>ccflare.proxy.overhead</c> (ms), <c>ccflare.account.window.utilization</c> and
/// <c>ccflare.usage.preemptive_switches</c>, <c>ccflare.usage.polls</c> (tags <c>provider</c>, <c>outcome</c>), and the GenAI semantic-convention histograms
/// <c>gen_ai.client.token.usage</c> (tag <c>gen_ai.token.type</c> = input | output) and
/// <c>gen_ai.client.operation.duration</c> (s), tagged with <c>gen_ai.system</c>,
/// <c>gen_ai.request.model</c>, <c>gen_ai.operation.name</c> and <c>ccflare.account</c>.
/// </summary>
internal sealed class CcflareMetrics : IDisposable
{
    public const string Name = "Ccflare";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;
    private readonly ProviderRegistry? _providers;

    public CcflareMetrics(IMeterFactory meterFactory, ProviderRegistry? providers = null)
    {
        _providers = providers;
        _meter = meterFactory.Create(Name);
        Requests = _meter.CreateCounter<long>("ccflare.requests", "{request}", "Proxied requests, by provider, status code and account.");
        Failovers = _meter.CreateCounter<long>("ccflare.failovers", "{failover}", "Times a request moved on to another account.");
        RateLimitEvents = _meter.CreateCounter<long>("ccflare.rate_limit.events", "{event}", "Hard rate limits reported by upstreams.");
        PreemptiveSwitches = _meter.CreateCounter<long>("ccflare.usage.preemptive_switches", "{request}",
            "Requests sent to another account because an account at the same or a more preferred level was near its usage limit.");
        RecordsDropped = _meter.CreateCounter<long>("ccflare.write_queue.dropped", "{record}", "Request rows (kind=row) or payloads (kind=payload) dropped because the write queue was full.");
        ProxyOverhead = _meter.CreateHistogram<double>("ccflare.proxy.overhead", "ms", "Time spent in Ccflare itself (total minus upstream wait).");
        TokenUsage = _meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used, by type.");
        OperationDuration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Duration of GenAI operations.");
    }

    public Counter<long> Requests { get; }

    public Counter<long> Failovers { get; }

    public Counter<long> RateLimitEvents { get; }

    public Counter<long> PreemptiveSwitches { get; }

    public Counter<long> RecordsDropped { get; }

    public Histogram<double> ProxyOverhead { get; }

    public Histogram<long> TokenUsage { get; }

    public Histogram<double> OperationDuration { get; }

    internal Counter<long> CreateCounter(string name, string unit, string description) =>
        _meter.CreateCounter<long>(name, unit, description);

    /// <summary>The <c>ccflare.account.window.utilization</c> gauge: each usage window's utilization (0 to 1), tagged <c>ccflare.account</c> and <c>ccflare.window</c>.</summary>
    internal void ObserveWindowUtilization(Func<IEnumerable<Measurement<double>>> measure) =>
        _meter.CreateObservableGauge("ccflare.account.window.utilization", measure, "1", "Utilization of each account's usage windows, as last reported.");

    internal void ObserveQueueDepth(Func<int> depth) =>
        _meter.CreateObservableGauge("ccflare.write_queue.depth", depth, "{record}", "Records waiting to be written.");

    /// <summary>The GenAI <c>gen_ai.system</c> value of a provider: its family (<c>anthropic</c> or <c>openai</c>), else its name.</summary>
    public string? GenAiSystem(string? provider) =>
        provider is null ? null : _providers?.Find(provider)?.Family.Name() ?? provider;

    /// <summary>Records token usage and operation duration for a finished request (background writer).</summary>
    public void RecordUsage(RequestRecord record, string? accountName)
    {
        if (!OperationDuration.Enabled && !TokenUsage.Enabled)
        {
            return;
        }
        var tags = new TagList
        {
            { "gen_ai.system", GenAiSystem(record.Provider) },
            { "gen_ai.operation.name", "chat" },
            { "gen_ai.request.model", record.Model },
            { "ccflare.account", accountName ?? record.AccountName },
        };
        if (record.ResponseTimeMs is { } ms)
        {
            var durationTags = tags;
            if (!record.Success)
            {
                durationTags.Add("error.type", record.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "error");
            }
            OperationDuration.Record(ms / 1000.0, durationTags);
        }
        if (record.PromptTokens is { } input)
        {
            var inputTags = tags;
            inputTags.Add("gen_ai.token.type", "input");
            TokenUsage.Record(input, inputTags);
        }
        if (record.CompletionTokens is { } output)
        {
            var outputTags = tags;
            outputTags.Add("gen_ai.token.type", "output");
            TokenUsage.Record(output, outputTags);
        }
    }

    public void Dispose() => _meter.Dispose();
}
