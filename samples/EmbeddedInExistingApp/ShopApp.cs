using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace EmbeddedInExistingApp;

/// <summary>
/// An existing ASP.NET Core app (a small shop back office) that adds Ccflare as one more
/// feature: the proxy under /llm, management behind the app's own "llm-admin" policy.
/// </summary>
public static class ShopApp
{
    public const string AdminPolicy = "llm-admin";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);

        // The app's own authentication: a cookie scheme that answers APIs with 401/403, not redirects.
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Events.OnRedirectToLogin = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return Task.CompletedTask;
                };
                options.Events.OnRedirectToAccessDenied = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
            });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireRole("admin"));

        builder.Services.AddSingleton<AuditLog>();

        // Ccflare: options from the "Ccflare" section of appsettings.json, accounts and history in a LiteDB file,
        // the app's own account-selection rule and an audit hook.
        var llmDatabase = builder.Configuration["Shop:LlmDatabasePath"] ?? Path.Combine(builder.Environment.ContentRootPath, "shop-llm.litedb");
        builder.Services.AddCcflare()
            .UseLiteDbStorage(llmDatabase)
            .AddStrategy<TenantStrategy>()
            .AddRequestObserver<AuditObserver>();

        configure?.Invoke(builder);
        var app = builder.Build();

        app.UseAuthentication();
        app.UseAuthorization();

        // The app's own endpoints keep working as before.
        app.MapGet("/", () => Results.Text("Shop back office"));
        app.MapGet("/orders", () => Results.Json(new[] { new { id = 1, item = "keyboard" }, new { id = 2, item = "mouse" } }));
        app.MapPost("/login", async (HttpContext context, LoginRequest login) =>
        {
            // Demo sign-in: a real app checks a password store.
            var claims = new List<Claim> { new(ClaimTypes.Name, login.User) };
            if (login.User == "alice")
            {
                claims.Add(new Claim(ClaimTypes.Role, "admin"));
            }
            await context.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme)));
            return Results.Ok();
        });
        app.MapGet("/audit", (AuditLog audit) => Results.Json(audit.Entries)).RequireAuthorization(AdminPolicy);

        // Ccflare under /llm: the proxy stays open to the app's services, management needs the admin policy.
        var ccflare = app.MapCcflare("/llm");
        ccflare.Api.RequireAuthorization(AdminPolicy);
        ccflare.Dashboard.RequireAuthorization(AdminPolicy);

        return app;
    }
}

/// <summary>Body of the demo sign-in.</summary>
public sealed record LoginRequest(string User);
