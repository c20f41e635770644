// Every C# block in the Markdown docs is a copy of a region below (or of a sample's source), so the
// compiler checks what the docs show. DocSnippetTests keeps the two in step.
#pragma warning disable CA1822, IDE0059, IDE0060
using System.Net;
using Ccflare.Accounts;
using Ccflare.Strategies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ccflare.Tests.Docs
{
    internal static class DocSnippets
    {
        public static void ReadmeQuickStart(string[] args)
        {
            #region readme-embedded
            var builder = WebApplication.CreateBuilder(args);

            builder.Services.AddCcflare(options => options.LbStrategy = "session")
                .UseSqliteStorage("ccflare.db");

            var app = builder.Build();

            var ccflare = app.MapCcflare("/llm");
            ccflare.Api.RequireAuthorization("admin");

            app.Run();
            #endregion
        }

        public static void ProviderInCode(WebApplicationBuilder builder)
        {
            #region providers-in-code
            builder.Services.AddCcflare()
                .AddProvider("zai", provider =>
                {
                    provider.Family = "anthropic";
                    provider.BaseUrl = "https://api.z.ai/api/anthropic";
                    provider.Auth = "bearer";
                });
            #endregion
        }

        public static void ProviderInCodeForExtending(WebApplicationBuilder builder)
        {
            #region extending-provider
            builder.Services.AddCcflare()
                .AddProvider("company-gateway", provider =>
                {
                    provider.Family = "openai";
                    provider.BaseUrl = "https://llm-gateway.internal.example/v1";
                    provider.ExtraHeaders["X-Team"] = "platform";
                });
            #endregion
        }

        public static void Embedded(WebApplicationBuilder builder, WebApplication app)
        {
            #region getting-started-embedded
            builder.Services.AddCcflare().UseSqliteStorage("ccflare.db");
            // ...
            app.MapCcflare();
            #endregion
        }

        public static void PackageReadme(WebApplicationBuilder builder)
        {
            #region package-readme
            builder.Services.AddCcflare().UseSqliteStorage("ccflare.db");   // Ccflare.Storage.Sqlite
            var app = builder.Build();
            app.MapCcflare();   // /v1/{provider}/..., /api/..., /health
            app.Run();
            #endregion
        }

        public static void SqlitePackage(WebApplicationBuilder builder)
        {
            #region sqlite-package
            builder.Services.AddCcflare().UseSqliteStorage("/var/lib/ccflare/ccflare.db");
            #endregion
        }

        public static void LiteDbPackage(WebApplicationBuilder builder)
        {
            #region litedb-package
            builder.Services.AddCcflare().UseLiteDbStorage("/var/lib/ccflare/ccflare.litedb");
            #endregion
        }

        public static void PostgreSqlPackage(WebApplicationBuilder builder)
        {
            #region postgresql-package
            builder.Services.AddCcflare().UsePostgreSqlStorage("Host=db;Database=ccflare;Username=ccflare;Password=...");
            #endregion
        }

        public static void StorageOptions(WebApplicationBuilder builder)
        {
            #region storage-options
            builder.Services.AddCcflare()
                .UseSqliteStorage(o =>
                {
                    o.DatabasePath = "/var/lib/ccflare/ccflare.db";
                    o.BusyTimeout = TimeSpan.FromSeconds(5);
                });
            // or: .UseLiteDbStorage("/var/lib/ccflare/ccflare.litedb");
            #endregion
        }

        public static void DashboardPrefix(WebApplication app)
        {
            #region dashboard-prefix
            app.MapCcflare();          // dashboard at "/", API at "/api", proxy at "/v1"
            // or, inside an existing app, under a prefix:
            app.MapCcflare("/llm");    // dashboard at "/llm/", API at "/llm/api", proxy at "/llm/v1"
            #endregion
        }

        public static void DashboardAuthorization(WebApplication app)
        {
            #region dashboard-authorization
            var ccflare = app.MapCcflare("/llm");
            ccflare.Api.RequireAuthorization("ccflare-admin");
            ccflare.Dashboard.RequireAuthorization("ccflare-admin");
            // MapCcflareDashboard returns its group too:
            app.MapCcflareDashboard("/ops").RequireAuthorization("ccflare-admin");
            #endregion
        }

        public static void SecurityHostAuth(WebApplicationBuilder builder)
        {
            #region security-host-auth
            builder.Services.AddAuthentication(/* your scheme: cookies, OIDC, JWT ... */);
            builder.Services.AddAuthorization(o => o.AddPolicy("ccflare-admin", p => p.RequireRole("admin")));

            var app = builder.Build();
            app.UseAuthentication();
            app.UseAuthorization();

            var ccflare = app.MapCcflare();
            ccflare.Api.RequireAuthorization("ccflare-admin");        // management API and its streams
            ccflare.Dashboard.RequireAuthorization("ccflare-admin");  // the web dashboard
            ccflare.Proxy.RequireRateLimiting("per-client");          // optional, for the proxy
            #endregion
        }
    }
}

namespace Ccflare.Tests.Docs.Snippets
{
    #region strategy-class
    public sealed class TenantStrategy : ILoadBalancingStrategy
    {
        public string Name => "tenant";

        public void Order(in LoadBalancingContext context, List<AccountState> candidates)
        {
            var tenant = context.HttpContext.Request.Headers["x-tenant"].ToString();
            var index = candidates.FindIndex(c => c.Name == tenant);
            if (index > 0)
            {
                var chosen = candidates[index];
                candidates.RemoveAt(index);
                candidates.Insert(0, chosen);
            }
        }
    }
    #endregion

    #region extending-observer
    public sealed class BillingObserver(ILogger<BillingObserver> logger) : ICcflareRequestObserver
    {
        public void OnRequestCompleted(RequestRecord record) =>
            logger.LogInformation("{Account} used {Tokens} tokens on {Model} for {Cost} USD",
                record.AccountName, record.TotalTokens, record.Model, record.CostUsd);
    }
    #endregion

    public sealed class EgressAuditHandler : DelegatingHandler;

    internal static class ExtendingSnippets
    {
        public static void RegisterObserver(WebApplicationBuilder builder)
        {
            #region extending-observer-registration
            builder.Services.AddCcflare().AddRequestObserver<BillingObserver>();
            #endregion
        }

        public static void UpstreamClient(WebApplicationBuilder builder)
        {
            #region extending-upstream-client
            builder.Services.AddCcflare()
                .ConfigureUpstreamClient(client => client
                    .ConfigurePrimaryHttpMessageHandler((handler, services) =>
                    {
                        var sockets = (SocketsHttpHandler)handler;
                        sockets.UseProxy = true;
                        sockets.Proxy = new WebProxy("http://egress.internal:3128");
                    })
                    .AddHttpMessageHandler(() => new EgressAuditHandler()));
            #endregion
        }
    }

    internal static class StrategySnippets
    {
        public static void Register(WebApplicationBuilder builder)
        {
            #region strategy-registration
            builder.Services.AddCcflare().AddStrategy<TenantStrategy>();
            #endregion
        }
    }
}
