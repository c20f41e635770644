namespace Ccflare.StandaloneServer;

internal static class StandaloneProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddCcflare();
        var app = builder.Build();
        app.MapCcflare();
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }
}
