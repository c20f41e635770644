using Ccflare.Accounts;
using Ccflare.Hosting;
using Ccflare.Http;
using Ccflare.Providers;
using Ccflare.Security;
using Ccflare.Strategies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ccflare.Management;

internal static class AccountEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/accounts", (AccountRegistry registry, ProviderRegistry providers, RuntimeSettings settings, TimeProvider time, NearLimitPolicy nearLimit) =>
        {
            var now = time.GetUtcNow();
            var list = new List<AccountResponse>();
            foreach (var state in registry.All)
            {
                list.Add(AccountResponse.From(state.Snapshot, now, settings.SessionDuration, nearLimit, providers.Find(state.Provider) is not null));
            }
            return Results.Json(list, CcflareJson.Options);
        });

        api.MapPost("/accounts", CreateAsync);

        api.MapPatch("/accounts/{id}", UpdateAsync);

        api.MapDelete("/accounts/{id}", async (string id, AccountService accounts, CancellationToken ct) =>
        {
            var (outcome, account) = await accounts.DeleteAsync(id, ct).ConfigureAwait(false);
            return outcome == AccountChangeOutcome.Done
                ? ManagementJson.Success($"Account '{account!.Name}' deleted")
                : NotFound(id);
        });

        api.MapPost("/accounts/{id}/pause", (string id, AccountService accounts, CancellationToken ct) =>
            SetPausedAsync(id, paused: true, accounts, ct))
            .AddEndpointFilter(ManagementJson.RequireEmptyOrObjectBody);

        api.MapPost("/accounts/{id}/resume", (string id, AccountService accounts, CancellationToken ct) =>
            SetPausedAsync(id, paused: false, accounts, ct))
            .AddEndpointFilter(ManagementJson.RequireEmptyOrObjectBody);

        api.MapPost("/accounts/{id}/rename", async (string id, HttpContext context, AccountService accounts) =>
        {
            var (body, error) = await ManagementJson.ReadAsync<RenameAccountRequest>(context).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
            if (AccountRules.ValidateName(body!.Name) is { } nameError)
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, nameError);
            }
            var (outcome, account) = await accounts.UpdateAsync(id, a => a with { Name = body.Name! }, context.RequestAborted).ConfigureAwait(false);
            return outcome switch
            {
                AccountChangeOutcome.Done => Results.Json(new { success = true, message = $"Account renamed to '{account!.Name}'", data = new { newName = account.Name }, newName = account.Name }, CcflareJson.Options),
                AccountChangeOutcome.DuplicateName => Duplicate(body.Name!),
                _ => NotFound(id),
            };
        });
    }

    private static async Task<IResult> CreateAsync(HttpContext context, AccountService accounts, ProviderRegistry providers, RuntimeSettings settings, TimeProvider time, BaseUrlGuard baseUrls, NearLimitPolicy nearLimit)
    {
        var (body, error) = await ManagementJson.ReadAsync<CreateAccountRequest>(context).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }
        var request = body!;
        var problem = AccountRules.ValidateName(request.Name)
            ?? (string.IsNullOrEmpty(request.Provider) ? "provider is required." : null)
            ?? (providers.Find(request.Provider!) is null ? $"provider '{request.Provider}' is unknown; use one of: {string.Join(", ", providers.Names)}." : null)
            ?? AccountRules.ValidateWeight(request.Weight)
            ?? AccountRules.ValidatePriority(request.Priority)
            ?? AccountRules.ValidateBaseUrl(request.BaseUrl);
        var authMethod = request.AuthMethod ?? AccountAuthMethods.ApiKey;
        problem ??= await baseUrls.CheckAsync(request.BaseUrl, context.RequestAborted).ConfigureAwait(false);
        if (problem is null && authMethod is not (AccountAuthMethods.ApiKey or AccountAuthMethods.OAuth))
        {
            problem = "auth_method must be 'api_key' or 'oauth'.";
        }
        if (problem is null && !providers.Find(request.Provider!)!.Accepts(authMethod))
        {
            problem = $"provider '{request.Provider}' takes {string.Join(" or ", providers.Find(request.Provider!)!.AuthMethods)} accounts, not {authMethod}.";
        }
        if (problem is null && authMethod == AccountAuthMethods.ApiKey && string.IsNullOrWhiteSpace(request.ApiKey))
        {
            problem = "api_key is required for api_key accounts.";
        }
        if (problem is null && authMethod == AccountAuthMethods.OAuth && string.IsNullOrWhiteSpace(request.AccessToken) && string.IsNullOrWhiteSpace(request.RefreshToken))
        {
            problem = "OAuth accounts need access_token or refresh_token; use /api/auth/{provider}/init to sign in.";
        }
        if (problem is null && request.ApiKey is { } key && (key.Length > 4096 || key.AsSpan().IndexOfAny('\r', '\n') >= 0))
        {
            problem = "api_key is not a valid key.";
        }
        if (problem is not null)
        {
            return JsonErrors.Result(StatusCodes.Status400BadRequest, problem);
        }

        var account = new Account
        {
            Id = Guid.NewGuid().ToString(),
            Name = request.Name!,
            Provider = request.Provider!,
            AuthMethod = authMethod,
            ApiKey = authMethod == AccountAuthMethods.ApiKey ? request.ApiKey!.Trim() : null,
            AccessToken = authMethod == AccountAuthMethods.OAuth ? request.AccessToken : null,
            RefreshToken = authMethod == AccountAuthMethods.OAuth ? request.RefreshToken : null,
            ExpiresAt = request.ExpiresAt is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
            BaseUrl = request.BaseUrl,
            Weight = request.Weight ?? 1,
            Priority = request.Priority ?? 0,
            CreatedAt = time.GetUtcNow(),
        };
        var (outcome, created) = await accounts.AddAsync(account, context.RequestAborted).ConfigureAwait(false);
        if (outcome == AccountChangeOutcome.DuplicateName)
        {
            return Duplicate(account.Name);
        }
        return Results.Json(
            new { success = true, message = $"Account '{created!.Name}' added", data = new { accountId = created.Id }, account = AccountResponse.From(created, time.GetUtcNow(), settings.SessionDuration, nearLimit) },
            CcflareJson.Options,
            statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> UpdateAsync(string id, HttpContext context, AccountService accounts, ProviderRegistry providers, RuntimeSettings settings, TimeProvider time, BaseUrlGuard baseUrls, NearLimitPolicy nearLimit)
    {
        var (body, error) = await ManagementJson.ReadAsync<UpdateAccountRequest>(context).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }
        var request = body!;
        string? baseUrl = null;
        var clearBaseUrl = false;
        var baseUrlSent = request.BaseUrl.ValueKind != System.Text.Json.JsonValueKind.Undefined;
        if (baseUrlSent)
        {
            var element = request.BaseUrl;
            if (element.ValueKind == System.Text.Json.JsonValueKind.Null)
            {
                clearBaseUrl = true;
            }
            else if (element.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                baseUrl = element.GetString();
                clearBaseUrl = string.IsNullOrEmpty(baseUrl);
            }
            else
            {
                return JsonErrors.Result(StatusCodes.Status400BadRequest, "base_url must be a string or null.");
            }
        }
        var problem = (request.Name is not null ? AccountRules.ValidateName(request.Name) : null)
            ?? AccountRules.ValidateWeight(request.Weight)
            ?? AccountRules.ValidatePriority(request.Priority)
            ?? (clearBaseUrl ? null : AccountRules.ValidateBaseUrl(baseUrl));
        if (problem is null && !clearBaseUrl)
        {
            problem = await baseUrls.CheckAsync(baseUrl, context.RequestAborted).ConfigureAwait(false);
        }
        if (problem is null && request.Name is null && !baseUrlSent && request.Weight is null && request.Priority is null)
        {
            problem = "Nothing to update: send name, base_url, weight or priority.";
        }
        if (problem is not null)
        {
            return JsonErrors.Result(StatusCodes.Status400BadRequest, problem);
        }

        var (outcome, account) = await accounts.UpdateAsync(id, a => a with
        {
            Name = request.Name ?? a.Name,
            BaseUrl = clearBaseUrl ? null : baseUrl ?? a.BaseUrl,
            Weight = request.Weight ?? a.Weight,
            Priority = request.Priority ?? a.Priority,
        }, context.RequestAborted).ConfigureAwait(false);
        return outcome switch
        {
            AccountChangeOutcome.Done => Results.Json(
                new { success = true, message = $"Account '{account!.Name}' updated", account = AccountResponse.From(account, time.GetUtcNow(), settings.SessionDuration, nearLimit, providers.Find(account.Provider) is not null) },
                CcflareJson.Options),
            AccountChangeOutcome.DuplicateName => Duplicate(request.Name!),
            _ => NotFound(id),
        };
    }

    private static async Task<IResult> SetPausedAsync(string id, bool paused, AccountService accounts, CancellationToken ct)
    {
        var (outcome, account) = await accounts.UpdateAsync(id, a => a with { Paused = paused }, ct).ConfigureAwait(false);
        return outcome == AccountChangeOutcome.Done
            ? ManagementJson.Success($"Account '{account!.Name}' {(paused ? "paused" : "resumed")}")
            : NotFound(id);
    }

    private static IResult NotFound(string id) =>
        JsonErrors.Result(StatusCodes.Status404NotFound, $"Account '{id}' not found.");

    private static IResult Duplicate(string name) =>
        JsonErrors.Result(StatusCodes.Status409Conflict, $"An account named '{name}' already exists.");
}
