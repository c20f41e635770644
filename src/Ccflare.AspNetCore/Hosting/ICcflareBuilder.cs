using Microsoft.Extensions.DependencyInjection;

namespace Ccflare;

/// <summary>Returned by <c>AddCcflare</c>; storage packages and strategies extend it.</summary>
public interface ICcflareBuilder
{
    /// <summary>The application's services.</summary>
    IServiceCollection Services { get; }
}

internal sealed class CcflareBuilder(IServiceCollection services) : ICcflareBuilder
{
    public IServiceCollection Services { get; } = services;
}
