namespace Ccflare.RoutingSimulation;

/// <summary>
/// What is simulated: the accounts, their windows and the day of sessions. Every number is fixed
/// here, and sessions come from a seeded generator, so a run is reproducible to the request.
/// </summary>
/// <param name="Accounts">Subscription accounts in the pool.</param>
/// <param name="WindowLength">Length of each account's usage window; a window opens with the first request after the previous one reset.</param>
/// <param name="WindowCapacity">Tokens one window admits; a request is refused (429) once the window holds this many.</param>
/// <param name="Sessions">Client sessions over the day.</param>
/// <param name="DayStart">When the first session may arrive.</param>
/// <param name="ArrivalSpan">Sessions arrive over this span after <paramref name="DayStart"/>, most of them mid-span.</param>
/// <param name="RequestsPerSession">Fewest and most requests in one session.</param>
/// <param name="TokensPerRequest">Fewest and most tokens one request counts against the window.</param>
/// <param name="ThinkTime">Shortest and longest pause between the requests of a session.</param>
/// <param name="Seed">Seed of the session generator.</param>
internal sealed record SimulationScenario(
    int Accounts,
    TimeSpan WindowLength,
    long WindowCapacity,
    int Sessions,
    DateTimeOffset DayStart,
    TimeSpan ArrivalSpan,
    (int Min, int Max) RequestsPerSession,
    (int Min, int Max) TokensPerRequest,
    (TimeSpan Min, TimeSpan Max) ThinkTime,
    ulong Seed)
{
    /// <summary>The published run: a working day whose demand needs about two and a half accounts at its peak.</summary>
    public static SimulationScenario Day { get; } = new(
        Accounts: 3,
        WindowLength: TimeSpan.FromHours(5),
        WindowCapacity: 15_000_000,
        Sessions: 30,
        DayStart: new DateTimeOffset(2026, 12, 7, 7, 0, 0, TimeSpan.Zero),
        ArrivalSpan: TimeSpan.FromHours(14),
        RequestsPerSession: (15, 60),
        TokensPerRequest: (20_000, 90_000),
        ThinkTime: (TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(4)),
        Seed: 20261207);

    /// <summary>A short morning with the same shape (for the test suite): still more than one account's window.</summary>
    public static SimulationScenario Morning { get; } = Day with
    {
        WindowCapacity = 3_000_000,
        Sessions = 8,
        ArrivalSpan = TimeSpan.FromHours(3),
        RequestsPerSession = (10, 30),
    };

    /// <summary>The sessions of the day, in arrival order.</summary>
    public IReadOnlyList<SimulatedSession> GenerateSessions()
    {
        var random = new SplitMix64(Seed);
        var sessions = new List<SimulatedSession>(Sessions);
        for (var id = 0; id < Sessions; id++)
        {
            // The mean of two uniform draws: arrivals peak mid-span, as a working day does.
            var position = (random.NextDouble() + random.NextDouble()) / 2;
            var arrival = DayStart + ArrivalSpan * position;
            var count = random.Next(RequestsPerSession.Min, RequestsPerSession.Max);
            var requests = new SimulatedRequest[count];
            for (var i = 0; i < count; i++)
            {
                var think = i == 0 ? TimeSpan.Zero : ThinkTime.Min + (ThinkTime.Max - ThinkTime.Min) * random.NextDouble();
                requests[i] = new SimulatedRequest(TimeSpan.FromSeconds(Math.Round(think.TotalSeconds)), random.Next(TokensPerRequest.Min, TokensPerRequest.Max));
            }
            sessions.Add(new SimulatedSession(id, TruncateToSecond(arrival), requests));
        }
        sessions.Sort(static (a, b) => a.Arrival != b.Arrival ? a.Arrival.CompareTo(b.Arrival) : a.Id.CompareTo(b.Id));
        return sessions;
    }

    /// <summary>Tokens asked for over the day.</summary>
    public long Demand(IReadOnlyList<SimulatedSession> sessions)
    {
        long total = 0;
        foreach (var session in sessions)
        {
            foreach (var request in session.Requests)
            {
                total += request.Tokens;
            }
        }
        return total;
    }

    private static DateTimeOffset TruncateToSecond(DateTimeOffset value) =>
        new(value.Ticks - value.Ticks % TimeSpan.TicksPerSecond, value.Offset);
}

/// <summary>One client session: a series of requests, each after a pause.</summary>
internal sealed record SimulatedSession(int Id, DateTimeOffset Arrival, IReadOnlyList<SimulatedRequest> Requests);

/// <summary>One request of a session: the pause before it and the tokens it counts against the window.</summary>
internal readonly record struct SimulatedRequest(TimeSpan ThinkTimeBefore, int Tokens);

/// <summary>A small, fixed pseudo-random generator, so the day is identical on every runtime.</summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A value in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A value from <paramref name="min"/> to <paramref name="max"/>, both included.</summary>
    public int Next(int min, int max) => min + (int)(NextUInt64() % (ulong)(max - min + 1));
}
