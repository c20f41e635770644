using System.Diagnostics;
using Ccflare.Accounts;
using Ccflare.Providers;
using Ccflare.Recording;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Ccflare.Proxy;

/// <summary>
/// One account's attempt, end to end: its credential, the forwarder's request and response, the
/// account feedback, and (when the answer is kept) the response committed to the client.
/// </summary>
internal sealed class ProxyAttempt(
    IAccountCredentials credentials,
    UpstreamForwarder forwarder,
    AccountFeedbackPolicy feedback,
    ResponseBodyCopier copier,
    HeaderPolicy headerPolicy,
    RequestRecorder recorder,
    IOptions<CcflareOptions> options)
{
    private readonly bool _capturePayloads = options.Value.CapturePayloads;

    /// <summary>True when the response was sent to the client (or the client went away); false to fail over to the next account.</summary>
    public async Task<bool> TryAsync(HttpContext context, ProxyExchange exchange, ForwardPlan plan, UpstreamProvider provider, AccountState? account, bool isLast)
    {
        string? secret = null;
        if (account is not null)
        {
            (exchange.AccountsAttempted ??= new List<string>(2)).Add(account.Id);
            secret = await credentials.GetSecretAsync(account, context.RequestAborted).ConfigureAwait(false);
            if (secret is null)
            {
                exchange.ErrorMessage = $"Account '{account.Name}' has no usable credential";
                return false;
            }
        }

        using var request = forwarder.CreateRequest(context, plan, provider, account, secret, out var adaptedPath);
        HttpResponseMessage response;
        var sendStart = Stopwatch.GetTimestamp();
        try
        {
            response = await forwarder.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (UpstreamForwarder.IsUpstreamFailure(ex, context.RequestAborted))
        {
            forwarder.RecordFailure(exchange, ex, sendStart, provider.Name, account?.Name);
            return false;
        }
        UpstreamForwarder.RecordHeaders(exchange, sendStart);
        using (response)
        {
            if (feedback.ShouldFailOver(provider, account, exchange, response, isLast))
            {
                return false;
            }
            Commit(context, exchange, provider, account, request, response, adaptedPath);
            using var translator = plan.Adapter?.CreateResponseTranslator(provider, exchange.StatusCode!.Value, exchange.IsStreaming);
            if (translator is not null)
            {
                // The body changes shape: the upstream length and type no longer describe it.
                context.Response.Headers.ContentLength = null;
                context.Response.ContentType = translator.ContentType;
            }
            await copier.CopyAsync(context, exchange, response, translator).ConfigureAwait(false);
            return true;
        }
    }

    /// <summary>Makes this attempt the answer: the exchange's facts, the account's counters, the client's status and headers.</summary>
    private void Commit(HttpContext context, ProxyExchange exchange, UpstreamProvider provider, AccountState? account, HttpRequestMessage request, HttpResponseMessage response, string? adaptedPath)
    {
        var status = (int)response.StatusCode;
        exchange.Account = account;
        exchange.Provider = provider.Name;
        if (adaptedPath is not null)
        {
            exchange.UpstreamPath = adaptedPath;
        }
        exchange.UpstreamStatus = status;
        exchange.StatusCode = status;
        exchange.ErrorMessage = status >= 400 ? $"Upstream answered {status}" : null;
        if (_capturePayloads)
        {
            exchange.RequestHeaders = HeaderRules.Capture(request, headerPolicy);
            exchange.ResponseHeaders = HeaderRules.Capture(response, headerPolicy);
        }
        recorder.Responding(exchange);
        context.Response.StatusCode = status;
        HeaderRules.CopyResponseHeaders(response, context.Response.Headers, headerPolicy);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        exchange.IsStreaming = string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);
        if (exchange.IsStreaming)
        {
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        }
    }
}
