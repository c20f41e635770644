using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ccflare.Storage.PostgreSql;

/// <summary>
/// Holds one connection that <c>LISTEN</c>s on <see cref="PostgreSqlSchema.NotifyChannel"/> and passes
/// the notifications of its schema to the subscribers. Starts with the first subscriber. Each time a
/// <c>LISTEN</c> is in place it reports <see cref="StoreChanges.All"/>: the first time because changes
/// made between the subscriber's own load and the <c>LISTEN</c> were never notified to it, after a
/// dropped connection (reconnecting 1 s, then up to 10 s apart) because notifications sent meanwhile are lost.
/// </summary>
internal sealed partial class PostgreSqlChangeListener : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly string _schema;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private Action<StoreChanges>[] _listeners = [];
    private Task? _loop;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PostgreSqlChangeListener(string connectionString, string schema, ILogger logger)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            // A dedicated connection outside the pool; keepalives notice a dead server or network.
            Pooling = false,
            KeepAlive = 15,
        };
        _connectionString = builder.ConnectionString;
        _schema = schema;
        _logger = logger;
    }

    /// <summary>Completes once the first <c>LISTEN</c> is in place (tests wait for it).</summary>
    public Task Listening => _listening.Task;

    public IDisposable Subscribe(Action<StoreChanges> listener)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
            _listeners = [.. _listeners, listener];
            _loop ??= Task.Run(() => RunAsync(_stopping.Token));
        }
        return new Subscription(this, listener);
    }

    private void Unsubscribe(Action<StoreChanges> listener)
    {
        lock (_gate)
        {
            _listeners = Array.FindAll(_listeners, l => l != listener);
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        var reconnecting = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_connectionString);
                await connection.OpenAsync(stoppingToken).ConfigureAwait(false);
                connection.Notification += OnNotification;
                await using (var listen = new NpgsqlCommand("LISTEN " + PostgreSqlSchema.NotifyChannel + ";", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                }
                if (reconnecting)
                {
                    LogReconnected(_logger);
                }
                Raise(StoreChanges.All);
                _listening.TrySetResult();
                delay = TimeSpan.FromSeconds(1);
                while (true)
                {
                    await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or TimeoutException)
            {
                LogListenFailed(_logger, delay.TotalSeconds, ex);
                reconnecting = true;
            }
            try
            {
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = TimeSpan.FromSeconds(Math.Min(10, delay.TotalSeconds * 2));
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        var payload = e.Payload;
        var dot = payload.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !payload.AsSpan(0, dot).SequenceEqual(_schema))
        {
            return;
        }
        var changes = payload.AsSpan(dot + 1) switch
        {
            "accounts" => StoreChanges.Accounts,
            "settings" => StoreChanges.Settings,
            "users" => StoreChanges.Users,
            _ => StoreChanges.None,
        };
        if (changes != StoreChanges.None)
        {
            Raise(changes);
        }
    }

    private void Raise(StoreChanges changes)
    {
        foreach (var listener in Volatile.Read(ref _listeners))
        {
            try
            {
                listener(changes);
            }
            catch (Exception ex)
            {
                LogListenerFailed(_logger, ex);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }
            _stopping.Cancel();
            loop = _loop;
        }
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }
        _stopping.Dispose();
    }

    private sealed class Subscription(PostgreSqlChangeListener owner, Action<StoreChanges> listener) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unsubscribe(listener);
            }
        }
    }

    [LoggerMessage(900, LogLevel.Warning, "Listening for changes from other Ccflare replicas failed; retrying in {DelaySeconds} s (the periodic reload still runs)")]
    private static partial void LogListenFailed(ILogger logger, double delaySeconds, Exception exception);

    [LoggerMessage(901, LogLevel.Information, "Listening for changes from other Ccflare replicas again; reloading everything")]
    private static partial void LogReconnected(ILogger logger);

    [LoggerMessage(902, LogLevel.Error, "A store change listener threw")]
    private static partial void LogListenerFailed(ILogger logger, Exception exception);
}
