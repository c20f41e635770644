using Ccflare.LoadBench;

// One executable, three roles: the orchestrator (default), the fake upstream and the bare YARP forwarder.
return args.FirstOrDefault() switch
{
    "upstream" => await FastUpstream.RunAsync(args[1..]),
    "yarp" => await YarpBaseline.RunAsync(args[1..]),
    _ => await Orchestrator.RunAsync(args),
};
