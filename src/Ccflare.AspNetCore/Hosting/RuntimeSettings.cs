using Microsoft.Extensions.Options;

namespace Ccflare.Hosting;

/// <summary>Settings that the management API can change while the server runs.</summary>
internal sealed class RuntimeSettings(IOptions<CcflareOptions> options)
{
    public const string StrategyKey = "lb_strategy";
    public const string SessionDurationKey = "session_duration_ms";

    private long _sessionDurationMs = options.Value.SessionDurationMs;

    public TimeSpan SessionDuration => TimeSpan.FromMilliseconds(Volatile.Read(ref _sessionDurationMs));

    public long SessionDurationMs
    {
        get => Volatile.Read(ref _sessionDurationMs);
        set => Volatile.Write(ref _sessionDurationMs, value);
    }
}
