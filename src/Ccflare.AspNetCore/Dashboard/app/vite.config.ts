import { defineConfig } from "vite";

// Built into ../dist, which Ccflare.AspNetCore.csproj embeds as resources.
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
