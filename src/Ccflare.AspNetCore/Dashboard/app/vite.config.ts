import { defineConfig } from "vite";

// Built into ../dist, which is committed and which Ccflare.AspNetCore.csproj embeds as resources.
// The output must be a pure function of the sources and package-lock.json (content hashes in file
// names, no source maps, no build time or absolute paths): CI rebuilds it and compares with git.
// base "./" keeps every URL relative: the server injects <base href> for the mount prefix.
export default defineConfig({
  base: "./",
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
  },
});
