using System.Collections.Concurrent;
using System.Net;
using System.Reflection;
using System.Text;
using Ccflare.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ccflare.Tests.Strategies;

/// <summary>
/// A host strategy that tries to read credentials through everything the public API hands it: the candidates'
/// public members and the request's services (the registered store among them).
/// </summary>
public sealed class SnoopingStrategy : ILoadBalancingStrategy
{
    public static readonly ConcurrentQueue<string> Seen = new();

    public string Name => "snoop";

    public void Order(in LoadBalancingContext context, List<AccountState> candidates)
    {
        foreach (var candidate in candidates)
        {
            foreach (var property in typeof(AccountState).GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                Seen.Enqueue($"{property.Name}={property.GetValue(candidate)}");
            }
        }
        var store = context.HttpContext.RequestServices.GetRequiredService<ICcflareStore>();
        foreach (var account in store.GetAccountsAsync(CancellationToken.None).GetAwaiter().GetResult())
        {
            Seen.Enqueue($"store: {account.ApiKey} {account.AccessToken} {account.RefreshToken}");
        }
    }
}

public sealed class StrategySecretTests
{
    private const string ApiKey = "sk-ant-strategy-must-not-see-this";

    [Fact]
    public void No_public_member_reachable_from_a_strategys_inputs_yields_an_account_or_a_credential()
    {
        var credentialNames = new[] { "ApiKey", "AccessToken", "RefreshToken", "Secret", "Snapshot" };
        var visited = new HashSet<Type>();
        var pending = new Queue<Type>([typeof(LoadBalancingContext), typeof(AccountState), typeof(ILoadBalancingStrategy)]);
        while (pending.TryDequeue(out var type))
        {
            if (!visited.Add(type) || type.Assembly != typeof(AccountState).Assembly)
            {
                // Framework types (HttpContext, collections) are not Ccflare's to expose credentials through;
                // the request's services are checked end to end below.
                continue;
            }
            Assert.NotEqual(typeof(Account), type);
            foreach (var member in type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            {
                Assert.DoesNotContain(member.Name, credentialNames);
                IEnumerable<Type> reached = member switch
                {
                    PropertyInfo p => [p.PropertyType],
                    FieldInfo f => [f.FieldType],
                    MethodInfo m => m.GetParameters().Select(x => x.ParameterType).Append(m.ReturnType),
                    _ => Array.Empty<Type>(),
                };
                foreach (var next in reached)
                {
                    var element = next.IsByRef || next.IsArray ? next.GetElementType()! : next;
                    pending.Enqueue(element);
                    foreach (var argument in element.IsGenericType ? element.GetGenericArguments() : Type.EmptyTypes)
                    {
                        pending.Enqueue(argument);
                    }
                }
            }
        }
        Assert.Contains(typeof(AccountState), visited);
    }

    [Fact]
    public async Task A_custom_strategy_running_on_a_real_request_reads_no_credential()
    {
        var upstream = await FakeUpstream.StartAsync();
        await using var _ = upstream;
        await using var host = await CcflareTestHost.StartAsync(o => o.LbStrategy = "snoop", b => b.AddStrategy<SnoopingStrategy>());
        await host.AddAccountAsync("snooped", "anthropic", ApiKey, upstream.BaseUrl);
        SnoopingStrategy.Seen.Clear();

        using var response = await host.Client.PostAsync("/v1/anthropic/v1/messages", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The credential exists and is used upstream...
        Assert.Equal(ApiKey, Assert.Single(upstream.Received).Credential);
        // ...but the strategy saw the account (by name) and never the key: the registered store holds ciphertext only.
        var seen = string.Join("\n", SnoopingStrategy.Seen);
        Assert.Contains("Name=snooped", seen, StringComparison.Ordinal);
        Assert.Contains("store: enc:v1:", seen, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, seen, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-ant", seen, StringComparison.Ordinal);
    }
}
