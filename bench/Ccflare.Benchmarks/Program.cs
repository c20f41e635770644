using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// BenchmarkDotNet builds a copy of the projects per job; on a loaded 2-core machine that can take longer than its 2-minute default.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10)));

/// <summary>Entry point marker.</summary>
public partial class Program;
