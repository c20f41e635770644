// Write-path benchmark: N realistic request rows (with small payloads) written through each store
// in batches, the way RequestWriter does. Usage:
//   dotnet run -c Release --project bench/Ccflare.Benchmarks.WritePath -- [rows=50000] [batch=500] [stores=sqlite,litedb,memory]
using System.Globalization;
using Ccflare;
using Microsoft.Extensions.DependencyInjection;

var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50_000;
var batchSize = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 500;
var stores = args.Length > 2 ? args[2].Split(',') : ["sqlite", "litedb", "memory"];

var records = Workload.Create(rows);
Console.WriteLine($"{rows:N0} rows in batches of {batchSize}, {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, .NET {Environment.Version}");

foreach (var name in stores)
{
    var directory = Path.Combine(Path.GetTempPath(), "ccflare-bench-" + Guid.NewGuid().ToString("N"));
    try
    {
        var services = new ServiceCollection();
        var builder = services.AddCcflare();
        _ = name switch
        {
            "sqlite" => builder.UseSqliteStorage(Path.Combine(directory, "ccflare.db")),
            "litedb" => builder.UseLiteDbStorage(Path.Combine(directory, "ccflare.litedb")),
            "memory" => builder.UseInMemoryStorage(),
            _ => throw new ArgumentException("unknown store " + name),
        };
        long bytes;
        double seconds;
        double cpuSeconds;
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<ICcflareStore>();
            await store.InitializeAsync(CancellationToken.None);

            (seconds, cpuSeconds) = await Workload.WriteInBatchesAsync(store, records, batchSize);

            Console.WriteLine($"{name,-7} wrote {rows:N0} rows in {seconds:N2} s");
            var count = 0;
            await foreach (var _ in store.QueryRequestsAsync(new RequestQuery(), CancellationToken.None))
            {
                count++;
            }
            if (count != rows)
            {
                throw new InvalidOperationException($"{name}: expected {rows} rows, found {count}");
            }
        }
        bytes = Directory.Exists(directory) ? Directory.EnumerateFiles(directory).Sum(f => new FileInfo(f).Length) : 0;
        Console.WriteLine($"{name,-7} {rows / seconds,10:N0} rows/s wall  {rows / cpuSeconds,10:N0} rows/CPU-s  ({seconds:N2} s wall, {cpuSeconds:N2} s CPU, file {bytes / 1024.0 / 1024.0:N1} MiB, load {LoadAverage()})");
    }
    finally
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

// The machine this runs on may be shared: wall-clock rows/s depends on the load, CPU-time rows/s much less.
static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
