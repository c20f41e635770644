using Ccflare.Tests.Infrastructure;
using PublicApiGenerator;

namespace Ccflare.Tests.PublicApi;

/// <summary>
/// The NuGet surface is a reviewed artefact: any change shows up as a diff of the
/// checked-in <c>*.approved.txt</c>. To accept a change, copy the <c>.received.txt</c> over it.
/// </summary>
public sealed class PublicApiTests
{
    [Theory]
    [InlineData(typeof(CcflareOptions), "Ccflare.AspNetCore")]
    [InlineData(typeof(Ccflare.Storage.Sqlite.SqliteStorageOptions), "Ccflare.Storage.Sqlite")]
    [InlineData(typeof(Ccflare.Storage.LiteDb.LiteDbStorageOptions), "Ccflare.Storage.LiteDb")]
    [InlineData(typeof(Ccflare.Storage.PostgreSql.PostgreSqlStorageOptions), "Ccflare.Storage.PostgreSql")]
    [InlineData(typeof(Ccflare.Storage.Testing.StoreContractTests), "Ccflare.Storage.Testing")]
    public void Public_api_matches_the_approved_baseline(Type marker, string package)
    {
        var api = marker.Assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false, AllowNamespacePrefixes = ["Microsoft.Extensions.DependencyInjection", "Microsoft.AspNetCore.Builder"] });
        var approved = Path.Combine(SourceDirectory(), $"{package}.approved.txt");
        var received = Path.Combine(SourceDirectory(), $"{package}.received.txt");

        var expected = File.Exists(approved) ? File.ReadAllText(approved).ReplaceLineEndings() : "";
        if (expected != api.ReplaceLineEndings())
        {
            File.WriteAllText(received, api);
        }
        else if (File.Exists(received))
        {
            File.Delete(received);
        }

        Assert.Equal(expected, api.ReplaceLineEndings());
    }

    private static string SourceDirectory() => RepositoryPaths.Combine("tests", "Ccflare.AspNetCore.Tests", "PublicApi");
}
