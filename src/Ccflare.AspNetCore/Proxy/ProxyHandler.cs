using System.Buffers;
using System.Diagnostics;
using Ccflare.Accounts;
using Ccflare.Diagnostics;
using Ccflare.Hosting;
using Ccflare.Http;
using Ccflare.Providers;
using Ccflare.Recording;
using Ccflare.Strategies;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ccflare.Proxy;

/// <summary>
/// The native passthrough proxy: picks accounts, injects credentials, streams the upstream
/// response back untouched and fails over while nothing has reached the client.
/// </summary>
internal sealed class ProxyHandler(
    AccountRegistry registry,
    StrategySelector strategies,
    RuntimeSettings settings,
    IAccountCredentials credentials,
    IHttpMessageHandlerFactory handlerFactory,
    RequestRecorder recorder,
    IOptions<CcflareOptions> options,
    TimeProvider time,
    CcflareMetrics metrics,
    HeaderPolicy headerPolicy,
    ILogger<ProxyHandler> logger)
{
    private const int CopyBufferSize = 16 * 1024;

    /// <summary>Responses up to this size with a known length are captured into an exact array even without payload capture.</summary>
    private const int SmallCaptureBytes = 16 * 1024;

    /// <summary>
    /// Bodies up to this size are read into exact arrays that the stored payload keeps. Larger ones
    /// would be large-object-heap arrays on fresh pages (the page faults cost more than the copy):
    /// they are read into pooled, already resident buffers and copied by the background writer.
    /// </summary>
    private const int ExactBodyMaxBytes = 64 * 1024;
    private readonly CcflareOptions _options = options.Value;
    private readonly HttpMessageInvoker _upstream = UpstreamClient.CreateInvoker(handlerFactory);
    private const int MaxCachedUris = 1024;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string BaseUrl, string Path), Uri> _uris = new();

    public async Task HandleNativeAsync(HttpContext context)
    {
        var providerName = context.Request.RouteValues["provider"] as string ?? string.Empty;
        var provider = ProviderCatalog.Find(providerName);
        if (provider is null)
        {
            await JsonErrors.WriteAsync(context, StatusCodes.Status404NotFound, $"Unknown provider '{providerName}'. Known providers: anthropic, claude-code, openai, codex.").ConfigureAwait(false);
            return;
        }

        var rest = context.Request.RouteValues["rest"] as string;
        var upstreamPath = string.IsNullOrEmpty(rest) ? string.Empty : "/" + rest;
        var pathError = ProxyPath.Validate(upstreamPath);
        if (pathError is not null)
        {
            await JsonErrors.WriteAsync(context, StatusCodes.Status400BadRequest, pathError).ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        var exchange = StartExchange(context, provider.Name, upstreamPath);
        await ForwardAsync(context, exchange, new ForwardPlan([provider], upstreamPath, body)).ConfigureAwait(false);
    }

    /// <summary>Reads the body into pooled memory; writes 413 and returns null when it is too large.</summary>
    internal async ValueTask<RequestBodyBuffer?> ReadBodyAsync(HttpContext context)
    {
        var maxSize = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (maxSize is { IsReadOnly: false })
        {
            // Our own limit applies; Kestrel's would throw mid-read.
            maxSize.MaxRequestBodySize = null;
        }
        RequestBodyBuffer? body;
        try
        {
            // With payload capture the stored copy is this very buffer, so read into an exact-size array the record can keep.
            var exact = _options.CapturePayloads && context.Request.ContentLength <= ExactBodyMaxBytes;
            body = await RequestBodyBuffer.ReadAsync(context.Request.Body, context.Request.ContentLength, _options.MaxRequestBodyBytes, context.RequestAborted, exact).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or BadHttpRequestException or OperationCanceledException)
        {
            if (!context.RequestAborted.IsCancellationRequested)
            {
                await JsonErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "The request body could not be read.").ConfigureAwait(false);
            }
            return null;
        }
        if (body is null)
        {
            await JsonErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge,
                $"Request body exceeds the limit of {_options.MaxRequestBodyBytes} bytes.", new { limitBytes = _options.MaxRequestBodyBytes }).ConfigureAwait(false);
        }
        return body;
    }

    internal ProxyExchange StartExchange(HttpContext context, string provider, string upstreamPath)
    {
        var now = time.GetUtcNow();
        var exchange = new ProxyExchange
        {
            // Time-ordered ids: history rows are appended to the end of the primary-key index instead of scattered through it.
            Id = Guid.CreateVersion7(now).ToString(),
            Timestamp = now,
            Method = context.Request.Method,
            Path = context.Request.Path.Value + context.Request.QueryString.Value,
            StartTimestamp = Stopwatch.GetTimestamp(),
            Provider = provider,
            UpstreamPath = upstreamPath + context.Request.QueryString.Value,
            UserId = context.Items.TryGetValue(ProxyContextKeys.UserId, out var user) ? user as string : null,
            ClientSessionId = RecordBuilder.ReadClientSessionId(context.Request.Headers),
            Activity = CcflareMetrics.ActivitySource.StartActivity("ccflare.proxy", ActivityKind.Internal),
        };
        exchange.Activity?.SetTag("ccflare.provider", provider);
        recorder.Started(exchange);
        return exchange;
    }

    /// <summary>Tries the plan's accounts in strategy order until one answers usefully.</summary>
    internal async Task ForwardAsync(HttpContext context, ProxyExchange exchange, ForwardPlan plan)
    {
        var candidates = new List<AccountState>(8);
        // The writer reads the model from the body and may store it; it returns the buffer to the pool.
        exchange.RequestBodyOwner = plan.Body;
        try
        {
            // Inside the guard: a host-supplied strategy that throws must still produce a JSON error and a record.
            CollectCandidates(context, plan, candidates);
            if (candidates.Count == 0)
            {
                if (_options.PassthroughWhenNoAccounts && HasNoAccounts(plan.Providers))
                {
                    await TryAttemptAsync(context, exchange, plan, plan.Providers[0], account: null, isLast: true).ConfigureAwait(false);
                    return;
                }
                Log.NoAccountAvailable(logger, plan.Providers[0].Name, exchange.Path);
                exchange.StatusCode = StatusCodes.Status503ServiceUnavailable;
                exchange.ErrorMessage = "No account available";
                await JsonErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                    $"No {string.Join(" or ", plan.Providers.Select(p => p.Name))} account is available: all are paused, rate limited or missing.",
                    new { provider = plan.Providers[0].Name }).ConfigureAwait(false);
                return;
            }

            for (var i = 0; i < candidates.Count; i++)
            {
                var account = candidates[i];
                var provider = ProviderCatalog.Find(account.Provider)!;
                if (await TryAttemptAsync(context, exchange, plan, provider, account, isLast: i == candidates.Count - 1).ConfigureAwait(false))
                {
                    return;
                }
                if (context.RequestAborted.IsCancellationRequested)
                {
                    break;
                }
                exchange.FailoverAttempts++;
                metrics.Failovers.Add(1);
            }

            if (context.RequestAborted.IsCancellationRequested)
            {
                MarkCancelled(exchange);
                return;
            }
            exchange.StatusCode = StatusCodes.Status502BadGateway;
            exchange.ErrorMessage ??= "All accounts failed";
            await JsonErrors.WriteAsync(context, StatusCodes.Status502BadGateway,
                "Every available account failed to reach the upstream.", new { accountsAttempted = candidates.Count }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            MarkCancelled(exchange);
        }
        catch (Exception ex)
        {
            Log.ProxyFailed(logger, exchange.Path, ex);
            exchange.ErrorMessage = "Internal proxy error: " + ex.GetType().Name;
            if (context.Response.HasStarted)
            {
                // Part of the upstream answer is already out; cutting the connection is the only honest signal left.
                exchange.StatusCode ??= StatusCodes.Status500InternalServerError;
                context.Abort();
            }
            else
            {
                exchange.StatusCode = StatusCodes.Status500InternalServerError;
                await JsonErrors.WriteAsync(context, StatusCodes.Status500InternalServerError,
                    "Ccflare failed while proxying this request; the server log has the details.", new { requestId = exchange.Id }).ConfigureAwait(false);
            }
        }
        finally
        {
            exchange.ResponseTimeMs = Stopwatch.GetElapsedTime(exchange.StartTimestamp).TotalMilliseconds;
            if (metrics.Requests.Enabled)
            {
                metrics.Requests.Add(1, new KeyValuePair<string, object?>("provider", exchange.Provider), new KeyValuePair<string, object?>("status_code", BoxedStatus.Get(exchange.StatusCode)),
                    new KeyValuePair<string, object?>("ccflare.account", exchange.Account?.Name));
            }
            if (exchange.Activity is { } activity)
            {
                activity.SetTag("http.response.status_code", BoxedStatus.Get(exchange.StatusCode));
                activity.SetTag("ccflare.account", exchange.Account?.Name);
                activity.SetTag("ccflare.failover_attempts", exchange.FailoverAttempts);
                activity.SetStatus(exchange.StatusCode is >= 200 and < 400 ? ActivityStatusCode.Ok : ActivityStatusCode.Error);
                activity.Dispose();
            }
            await recorder.CompletedAsync(exchange).ConfigureAwait(false);
        }
    }

    private void CollectCandidates(HttpContext context, ForwardPlan plan, List<AccountState> candidates)
    {
        var now = time.GetUtcNow();
        var lbContext = new LoadBalancingContext(context, plan.Providers[0].Name, now, settings.SessionDuration);
        var strategy = strategies.Current;
        if (plan.Providers.Count == 1)
        {
            registry.CollectAvailable(plan.Providers[0].Name, now, candidates);
            strategy.Order(lbContext, candidates);
            return;
        }
        var scratch = new List<AccountState>(8);
        foreach (var provider in plan.Providers)
        {
            scratch.Clear();
            registry.CollectAvailable(provider.Name, now, scratch);
            strategy.Order(lbContext with { Provider = provider.Name }, scratch);
            candidates.AddRange(scratch);
        }
    }

    private bool HasNoAccounts(IReadOnlyList<ProviderDescriptor> providers)
    {
        foreach (var provider in providers)
        {
            if (!registry.ForProvider(provider.Name).IsEmpty)
            {
                return false;
            }
        }
        return true;
    }

    private static void MarkCancelled(ProxyExchange exchange)
    {
        exchange.StatusCode = 499;
        exchange.ErrorMessage = "Client closed the request";
    }

    /// <summary>
    /// One upstream attempt. Returns true when the response was sent to the client (or the
    /// client went away); false to fail over to the next account.
    /// </summary>
    private async Task<bool> TryAttemptAsync(HttpContext context, ProxyExchange exchange, ForwardPlan plan, ProviderDescriptor provider, AccountState? account, bool isLast)
    {
        var snapshot = account?.Snapshot;
        if (account is not null)
        {
            (exchange.AccountsAttempted ??= new List<string>(2)).Add(account.Id);
        }

        string? secret = null;
        if (account is not null)
        {
            secret = await credentials.GetSecretAsync(account, context.RequestAborted).ConfigureAwait(false);
            if (secret is null)
            {
                exchange.ErrorMessage = $"Account '{account.Name}' has no usable credential";
                return false;
            }
        }

        var baseUrl = snapshot?.BaseUrl ?? ProviderBaseUrl(provider);
        var adapted = plan.Adapter?.PrepareRequest(provider);
        using var request = new HttpRequestMessage(HttpMethod.Parse(context.Request.Method), UpstreamUri(baseUrl, adapted?.UpstreamPath ?? plan.UpstreamPath, context.Request.QueryString))
        {
            Version = System.Net.HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
        };
        if (adapted is { } adaptedRequest)
        {
            request.Content = new ReadOnlyMemoryContent(adaptedRequest.Body);
        }
        else if (plan.Body.Length > 0 || HttpMethods.IsPost(context.Request.Method) || HttpMethods.IsPut(context.Request.Method) || HttpMethods.IsPatch(context.Request.Method))
        {
            request.Content = plan.Body.CreateContent();
        }
        HeaderRules.CopyRequestHeaders(context.Request.Headers, request, provider.Family, headerPolicy);
        plan.Adapter?.PrepareHeaders(provider, request);
        if (snapshot is not null && secret is not null)
        {
            CredentialInjection.Apply(request, provider, snapshot, secret);
        }

        if (account is not null)
        {
            request.Options.Set(UpstreamResilience.AccountKey, account.Id);
        }
        HttpResponseMessage response;
        var sendStart = Stopwatch.GetTimestamp();
        try
        {
            // An invoker over the factory's handler chain, not HttpClient: the body is never buffered and no per-call
            // client is created. The chain's resilience pipeline applies UpstreamTimeoutMs and the account's circuit breaker.
            response = await _upstream.SendAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            exchange.UpstreamWaitTicks += Stopwatch.GetTimestamp() - sendStart;
            exchange.ErrorMessage = ex switch
            {
                Polly.CircuitBreaker.BrokenCircuitException => "Account circuit open after repeated upstream failures",
                Polly.Timeout.TimeoutRejectedException or OperationCanceledException => "Upstream timed out",
                _ => "Upstream unreachable: " + ex.Message,
            };
            Log.UpstreamUnreachable(logger, provider.Name, account?.Name ?? "(none)", ex);
            return false;
        }
        var headersAt = Stopwatch.GetTimestamp();
        exchange.UpstreamWaitTicks += headersAt - sendStart;
        exchange.UpstreamTtfbMs = Stopwatch.GetElapsedTime(sendStart, headersAt).TotalMilliseconds;

        using (response)
        {
            var status = (int)response.StatusCode;
            var hardLimited = false;
            if (account is not null)
            {
                var rateLimit = RateLimitParser.Parse(provider, status, response.Headers, time.GetUtcNow());
                hardLimited = rateLimit.IsHardLimited;
                ApplyRateLimit(account, exchange, rateLimit);
            }

            var failover = status == 429 || status >= 500 || (status >= 400 && hardLimited);
            if (failover && !isLast && account is not null)
            {
                exchange.ErrorMessage = $"Upstream answered {status}";
                Log.FailingOver(logger, provider.Name, account.Name, status);
                return false;
            }

            exchange.Account = account;
            exchange.Provider = provider.Name;
            exchange.UpstreamStatus = status;
            exchange.StatusCode = status;
            if (status >= 400)
            {
                exchange.ErrorMessage = $"Upstream answered {status}";
            }
            else
            {
                exchange.ErrorMessage = null;
            }
            if (_options.CapturePayloads)
            {
                exchange.RequestHeaders = HeaderRules.Capture(request, headerPolicy);
                exchange.ResponseHeaders = HeaderRules.Capture(response, headerPolicy);
            }
            context.Response.StatusCode = status;
            HeaderRules.CopyResponseHeaders(response, context.Response.Headers, headerPolicy);
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            exchange.IsStreaming = string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);
            if (exchange.IsStreaming)
            {
                context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            }
            using var translator = plan.Adapter?.CreateResponseTranslator(provider, status, exchange.IsStreaming);
            if (translator is not null)
            {
                // The body changes shape: the upstream length and type no longer describe it.
                context.Response.Headers.ContentLength = null;
                context.Response.ContentType = translator.ContentType;
            }
            await CopyBodyAsync(context, exchange, response, translator).ConfigureAwait(false);
            return true;
        }
    }

    private string ProviderBaseUrl(ProviderDescriptor provider) =>
        _options.Providers.TryGetValue(provider.Name, out var configured) && configured.BaseUrl is { } url ? url : provider.DefaultBaseUrl;

    /// <summary>
    /// The upstream URI; without a query string it comes from a small cache, since nearly every
    /// request goes to one of a few (base URL, path) pairs and parsing a Uri is not free.
    /// </summary>
    private Uri UpstreamUri(string baseUrl, string path, QueryString query)
    {
        if (query.HasValue)
        {
            return BuildUri(baseUrl, path, query);
        }
        if (_uris.TryGetValue((baseUrl, path), out var cached))
        {
            return cached;
        }
        var uri = BuildUri(baseUrl, path, query);
        if (_uris.Count < MaxCachedUris)
        {
            _uris.TryAdd((baseUrl, path), uri);
        }
        return uri;
    }

    internal static Uri BuildUri(string baseUrl, string path, QueryString query)
    {
        var trimmed = baseUrl.EndsWith('/') ? baseUrl[..^1] : baseUrl;
        var escapedPath = new Microsoft.AspNetCore.Http.PathString(path).ToUriComponent();
        return new Uri(string.Concat(trimmed, escapedPath, query.Value), UriKind.Absolute);
    }

    private void ApplyRateLimit(AccountState account, ProxyExchange exchange, RateLimitInfo info)
    {
        if (!info.HasData)
        {
            return;
        }
        var now = time.GetUtcNow();
        DateTimeOffset? until = null;
        if (info.IsHardLimited)
        {
            until = info.Reset > now ? info.Reset : now.AddMilliseconds(_options.DefaultRateLimitCooldownMs);
            exchange.RateLimited = true;
            metrics.RateLimitEvents.Add(1, new KeyValuePair<string, object?>("provider", account.Provider));
            Log.AccountRateLimited(logger, account.Name, until.Value);
        }
        registry.Change(account, (info, until), static (a, s) => a with
        {
            RateLimitStatus = s.info.Status ?? a.RateLimitStatus,
            RateLimitReset = s.info.Reset ?? a.RateLimitReset,
            RateLimitRemaining = s.info.Remaining ?? a.RateLimitRemaining,
            RateLimitedUntil = s.until ?? a.RateLimitedUntil,
        }, urgent: until is not null);
    }

    /// <summary>Streams the upstream body to the client chunk by chunk, keeping a capped copy.</summary>
    private async Task CopyBodyAsync(HttpContext context, ProxyExchange exchange, HttpResponseMessage response, IResponseTranslator? translator)
    {
        var captureLimit = _options.StreamBodyMaxBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        byte[]? capture = null;
        var capturePooled = true;
        var captured = 0;
        if (response.Content.Headers.ContentLength is { } announced && announced > 0 && announced <= captureLimit
            && announced <= (_options.CapturePayloads ? ExactBodyMaxBytes : SmallCaptureBytes))
        {
            // The length is known: an exact array the stored payload can keep as it is (no pool round trip across threads, no copy).
            capture = GC.AllocateUninitializedArray<byte>((int)announced);
            capturePooled = false;
        }
        var bodyStart = Stopwatch.GetTimestamp();
        var firstChunk = true;
        // A body of announced length is complete for the client with its last chunk, before this handler returns.
        var unsentAnnounced = translator is null ? response.Content.Headers.ContentLength : null;
        try
        {
            // The connection's content stream is available synchronously; the async variant only adds a Task.
            var upstream = response.Content.ReadAsStream(context.RequestAborted);
            if (exchange.IsStreaming)
            {
                // The client sees the status and headers before the first event, however long that takes
                // (StartAsync alone only commits them). Other responses send them with the first chunk of
                // the body: one write instead of two.
                await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
            while (true)
            {
                int read;
                var readStart = Stopwatch.GetTimestamp();
                try
                {
                    read = await upstream.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
                {
                    Log.UpstreamStreamFailed(logger, exchange.Account?.Name ?? "(none)", ex);
                    exchange.ErrorMessage = "Upstream stream failed: " + ex.Message;
                    exchange.StatusCode = StatusCodes.Status502BadGateway;
                    if (!context.Response.HasStarted)
                    {
                        // Nothing reached the client yet: it can still get a clean error instead of the upstream's headers.
                        context.Response.Clear();
                        await JsonErrors.WriteAsync(context, StatusCodes.Status502BadGateway, "The upstream response failed before its body arrived.").ConfigureAwait(false);
                        return;
                    }
                    // The status is already sent: abort so the client sees a broken stream, not a clean end.
                    context.Abort();
                    return;
                }
                exchange.UpstreamWaitTicks += Stopwatch.GetTimestamp() - readStart;
                if (read == 0)
                {
                    break;
                }
                if (firstChunk)
                {
                    firstChunk = false;
                    exchange.FirstByteToClientMs = Stopwatch.GetElapsedTime(exchange.StartTimestamp).TotalMilliseconds;
                }
                if (captured < captureLimit)
                {
                    capture ??= ArrayPool<byte>.Shared.Rent(Math.Min(captureLimit, Math.Max(read, 4096)));
                    var take = Math.Min(read, captureLimit - captured);
                    if (captured + take > capture.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(captureLimit, Math.Max(capture.Length * 2, captured + take)));
                        capture.AsSpan(0, captured).CopyTo(larger);
                        if (capturePooled)
                        {
                            ArrayPool<byte>.Shared.Return(capture);
                        }
                        capture = larger;
                        capturePooled = true;
                    }
                    buffer.AsSpan(0, take).CopyTo(capture.AsSpan(captured));
                    captured += take;
                    if (take < read)
                    {
                        exchange.ResponseBodyTruncated = true;
                    }
                }
                else
                {
                    exchange.ResponseBodyTruncated = true;
                }
                if (unsentAnnounced is { } unsent && (unsentAnnounced = unsent - read) <= 0)
                {
                    exchange.ResponseBody = capture;
                    exchange.ResponseBodyLength = captured;
                    exchange.ResponseBodyPooled = capturePooled;
                    recorder.Acknowledge(exchange);
                }
                if (translator is null)
                {
                    // Response buffering is off for streams (above): each write goes out at once, no flush needed.
                    await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted).ConfigureAwait(false);
                }
                else
                {
                    await translator.WriteAsync(buffer.AsMemory(0, read), context.Response.Body, context.RequestAborted).ConfigureAwait(false);
                    if (exchange.IsStreaming)
                    {
                        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                    }
                }
            }
            if (translator is not null)
            {
                await translator.CompleteAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
            }
            exchange.StreamingDurationMs = Stopwatch.GetElapsedTime(bodyStart).TotalMilliseconds;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            exchange.ResponseBody = capture;
            exchange.ResponseBodyLength = captured;
            exchange.ResponseBodyPooled = capturePooled;
        }
    }
}

/// <summary>What to forward: the providers to draw accounts from (in order), the upstream path and the body.</summary>
internal sealed record ForwardPlan(IReadOnlyList<ProviderDescriptor> Providers, string UpstreamPath, RequestBodyBuffer Body)
{
    /// <summary>
    /// Optional per-provider rewriting (compat routes): the body and path to send and a translator
    /// for the response. Null on native routes, which send <see cref="Body"/> untouched.
    /// </summary>
    public IForwardAdapter? Adapter { get; init; }
}

/// <summary>Adapts one forwarded request to the provider an attempt goes to.</summary>
internal interface IForwardAdapter
{
    /// <summary>The body and upstream path for <paramref name="provider"/>; called once per attempt.</summary>
    AdaptedRequest PrepareRequest(ProviderDescriptor provider);

    /// <summary>Adds or fixes headers after the client's headers were copied and before credentials are injected.</summary>
    void PrepareHeaders(ProviderDescriptor provider, HttpRequestMessage request);

    /// <summary>A translator for the response body, or null to copy it untouched.</summary>
    IResponseTranslator? CreateResponseTranslator(ProviderDescriptor provider, int statusCode, bool isEventStream);
}

/// <summary>The body and path sent to one provider.</summary>
internal readonly record struct AdaptedRequest(ReadOnlyMemory<byte> Body, string UpstreamPath);

/// <summary>
/// Rewrites an upstream response body into the client's schema as chunks arrive. The proxy
/// still captures the upstream bytes and flushes after each chunk when streaming.
/// </summary>
internal interface IResponseTranslator : IDisposable
{
    /// <summary>The content type of the translated body.</summary>
    string ContentType { get; }

    /// <summary>Consumes one upstream chunk and writes whatever translated output it completes.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, Stream client, CancellationToken cancellationToken);

    /// <summary>Called once the upstream body ended; writes what remains.</summary>
    ValueTask CompleteAsync(Stream client, CancellationToken cancellationToken);
}

internal static class ProxyContextKeys
{
    public const string UserId = "Ccflare.UserId";
}

/// <summary>Boxed status codes, so tagging a metric or activity with one does not allocate.</summary>
internal static class BoxedStatus
{
    private static readonly object[] Codes = Create();

    public static object? Get(int? status) => status is { } code && (uint)code < (uint)Codes.Length ? Codes[code] : status;

    private static object[] Create()
    {
        var codes = new object[600];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = i;
        }
        return codes;
    }
}
