using System.Collections.Concurrent;
using Ccflare;

namespace EmbeddedInExistingApp;

/// <summary>One line of the app's own audit log.</summary>
public sealed record AuditEntry(DateTimeOffset At, string? Account, string? Model, int? Status, long? Tokens);

/// <summary>The app's audit log (in memory here; a real app writes to its own database).</summary>
public sealed class AuditLog
{
    private readonly ConcurrentQueue<AuditEntry> _entries = new();

    /// <summary>Entries in arrival order.</summary>
    public IReadOnlyCollection<AuditEntry> Entries => _entries;

    /// <summary>Appends an entry.</summary>
    public void Add(AuditEntry entry) => _entries.Enqueue(entry);
}

/// <summary>Writes every LLM request Ccflare completes to the app's audit log.</summary>
public sealed class AuditObserver(AuditLog audit) : ICcflareRequestObserver
{
    /// <inheritdoc />
    public void OnRequestCompleted(RequestRecord record) =>
        audit.Add(new AuditEntry(record.Timestamp, record.AccountName, record.Model, record.StatusCode, record.TotalTokens));
}
