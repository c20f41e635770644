using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Ccflare.Tests.OAuth;

/// <summary>
/// A Ccflare host wired to a fake OAuth authorization server and a fake upstream, on a fake clock
/// starting 2026-01-01 12:00 UTC. Subclasses point providers at <see cref="Auth"/> and <see cref="Upstream"/>.
/// </summary>
public abstract class OAuthHostTests : IAsyncLifetime
{
    protected FakeAuthServer Auth { get; private set; } = null!;

    protected FakeUpstream Upstream { get; private set; } = null!;

    protected CcflareTestHost Host { get; private set; } = null!;

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Options of the host; <see cref="Auth"/> and <see cref="Upstream"/> are running by then.</summary>
    protected abstract void Configure(CcflareOptions options);

    public async Task InitializeAsync()
    {
        Auth = await FakeAuthServer.StartAsync();
        Upstream = await FakeUpstream.StartAsync();
        Host = await CcflareTestHost.StartAsync(configure: Configure, time: Time);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
        await Auth.DisposeAsync();
    }
}
