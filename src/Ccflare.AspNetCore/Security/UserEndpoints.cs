using System.Text.Json.Serialization;
using Ccflare.Http;
using Ccflare.Management;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ccflare.Security;

/// <summary><c>GET|POST /api/users</c>, <c>DELETE /api/users/{id}</c>; 404 while access keys are off.</summary>
internal static class UserEndpoints
{
    private const string Disabled = "Access keys are disabled; set require_access_keys (Ccflare:RequireAccessKeys) to manage users.";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/users", async (HttpContext context, AccessKeyService keys) =>
        {
            if (!keys.Enabled)
            {
                return JsonErrors.Result(StatusCodes.Status404NotFound, Disabled);
            }
            var users = await keys.ListAsync(context.RequestAborted).ConfigureAwait(false);
            var list = new List<UserResponse>(users.Count);
            foreach (var user in users)
            {
                list.Add(UserResponse.From(user));
            }
            return Results.Json(list, CcflareJson.Options);
        });

        api.MapPost("/users", async (HttpContext context, AccessKeyService keys) =>
        {
            if (!keys.Enabled)
            {
                return JsonErrors.Result(StatusCodes.Status404NotFound, Disabled);
            }
            var (body, error) = await ManagementJson.ReadAsync<CreateUserRequest>(context).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
            var created = await keys.CreateUserAsync(body!.Name, context.RequestAborted).ConfigureAwait(false);
            if (!created.Succeeded)
            {
                return JsonErrors.Result(created.Duplicate ? StatusCodes.Status409Conflict : StatusCodes.Status400BadRequest, created.Error!);
            }
            return Results.Json(
                new CreatedUserResponse(created.User!.Id, created.User.Name, created.Key!, created.User.CreatedAt, true,
                    $"User '{created.User.Name}' added. Store the access key now: it is not shown again.", UserResponse.From(created.User)),
                CcflareJson.Options,
                statusCode: StatusCodes.Status201Created);
        });

        api.MapDelete("/users/{id}", async (string id, HttpContext context, AccessKeyService keys) =>
        {
            if (!keys.Enabled)
            {
                return JsonErrors.Result(StatusCodes.Status404NotFound, Disabled);
            }
            var removed = await keys.DeleteAsync(id, context.RequestAborted).ConfigureAwait(false);
            return removed is null
                ? JsonErrors.Result(StatusCodes.Status404NotFound, $"User '{id}' not found.")
                : Results.Json(new { deleted = true, success = true, message = $"User '{removed.Name}' deleted" }, CcflareJson.Options);
        });
    }

    private sealed record CreateUserRequest
    {
        [JsonPropertyName("name")] public string? Name { get; init; }
    }

    internal sealed record UserResponse(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt)
    {
        public static UserResponse From(AccessKeyUser user) => new(user.Id, user.Name, user.CreatedAt);
    }

/// <summary>ccflare's <c>{id, name, key, createdAt}</c>, with Ccflare's <c>success</c>, <c>message</c> and <c>user</c> beside it.</summary>
    private sealed record CreatedUserResponse(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("key")] string Key,
        [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt,
        [property: JsonPropertyName("success")] bool Success,
        [property: JsonPropertyName("message")] string Message,
        [property: JsonPropertyName("user")] UserResponse User);
}
