using Ccflare.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ccflare.Recording;

/// <summary>Forwards written records to the host's <see cref="ICcflareRequestObserver"/>s.</summary>
internal sealed class RequestObserverDispatcher(RequestWriter writer, IEnumerable<ICcflareRequestObserver> observers, ILogger<RequestObserverDispatcher> logger) : IHostedService
{
    private readonly ICcflareRequestObserver[] _observers = [.. observers];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_observers.Length > 0)
        {
            writer.RecordWritten += Dispatch;
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        writer.RecordWritten -= Dispatch;
        return Task.CompletedTask;
    }

    private void Dispatch(RequestRecord record)
    {
        foreach (var observer in _observers)
        {
            try
            {
                observer.OnRequestCompleted(record);
            }
            catch (Exception ex)
            {
                Log.RequestObserverFailed(logger, observer.GetType().Name, ex);
            }
        }
    }
}
