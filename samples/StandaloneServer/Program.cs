using Ccflare.StandaloneServer;

return await StandaloneProgram.RunAsync(args).ConfigureAwait(false);
