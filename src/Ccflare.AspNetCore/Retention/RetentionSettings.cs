using System.Globalization;
using Microsoft.Extensions.Options;

namespace Ccflare.Retention;

/// <summary>
/// How long history is kept. Starts from <see cref="CcflareOptions.PayloadRetentionDays"/> and
/// <see cref="CcflareOptions.RequestRetentionDays"/>; values set through the management API are
/// stored as settings (<c>retention_payload_days</c>, <c>retention_request_days</c>) and win.
/// </summary>
internal sealed class RetentionSettings(IOptions<CcflareOptions> options, ICcflareStore store)
{
    public const string PayloadDaysKey = "retention_payload_days";
    public const string RequestDaysKey = "retention_request_days";
    public const int MaxDays = 3650;

    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private volatile bool _loaded;
    private int _payloadDays = options.Value.PayloadRetentionDays;
    private int _requestDays = options.Value.RequestRetentionDays;

    public int PayloadDays => Volatile.Read(ref _payloadDays);

    public int RequestDays => Volatile.Read(ref _requestDays);

    /// <summary>Reads the stored values once.</summary>
    public async Task EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }
        await _loadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loaded)
            {
                return;
            }
            Apply(await store.GetSettingsAsync(cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            _loadGate.Release();
        }
    }

    /// <summary>Takes the stored values from <paramref name="saved"/> (settings reloaded after another instance changed them).</summary>
    public void Apply(IReadOnlyDictionary<string, string> saved)
    {
        if (TryDays(saved, PayloadDaysKey, out var payload))
        {
            Volatile.Write(ref _payloadDays, payload);
        }
        if (TryDays(saved, RequestDaysKey, out var request))
        {
            Volatile.Write(ref _requestDays, request);
        }
        _loaded = true;
    }

    public async Task SetAsync(int payloadDays, int requestDays, CancellationToken cancellationToken)
    {
        await EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        await store.SetSettingAsync(PayloadDaysKey, payloadDays.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        await store.SetSettingAsync(RequestDaysKey, requestDays.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _payloadDays, payloadDays);
        Volatile.Write(ref _requestDays, requestDays);
    }

    private static bool TryDays(IReadOnlyDictionary<string, string> saved, string key, out int days)
    {
        days = 0;
        return saved.TryGetValue(key, out var raw)
            && int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out days)
            && days is >= 1 and <= MaxDays;
    }
}
