using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Ccflare;

/// <summary>
/// The endpoint groups mapped by <c>MapCcflare</c>. Conventions added to this object apply to
/// every group; add them to a single group to treat it differently (for example
/// <c>endpoints.Api.RequireAuthorization("admin")</c>).
/// </summary>
public sealed class CcflareEndpoints : IEndpointConventionBuilder
{
    internal CcflareEndpoints(RouteGroupBuilder proxy, RouteGroupBuilder api, RouteGroupBuilder health, RouteGroupBuilder dashboard)
    {
        Proxy = proxy;
        Api = api;
        Health = health;
        Dashboard = dashboard;
    }

    /// <summary>The proxy routes: <c>/v1/{provider}/...</c>.</summary>
    public RouteGroupBuilder Proxy { get; }

    /// <summary>The management API: <c>/api/...</c>.</summary>
    public RouteGroupBuilder Api { get; }

    /// <summary>The health endpoint: <c>/health</c>.</summary>
    public RouteGroupBuilder Health { get; }

    /// <summary>The web dashboard: <c>/</c>, its pages and <c>/assets/*</c>. Protect it like <see cref="Api"/>, which it calls.</summary>
    public RouteGroupBuilder Dashboard { get; }

    /// <inheritdoc />
    public void Add(Action<EndpointBuilder> convention)
    {
        ArgumentNullException.ThrowIfNull(convention);
        ((IEndpointConventionBuilder)Proxy).Add(convention);
        ((IEndpointConventionBuilder)Api).Add(convention);
        ((IEndpointConventionBuilder)Health).Add(convention);
        ((IEndpointConventionBuilder)Dashboard).Add(convention);
    }

    /// <inheritdoc />
    public void Finally(Action<EndpointBuilder> finallyConvention)
    {
        ArgumentNullException.ThrowIfNull(finallyConvention);
        ((IEndpointConventionBuilder)Proxy).Finally(finallyConvention);
        ((IEndpointConventionBuilder)Api).Finally(finallyConvention);
        ((IEndpointConventionBuilder)Health).Finally(finallyConvention);
        ((IEndpointConventionBuilder)Dashboard).Finally(finallyConvention);
    }
}
