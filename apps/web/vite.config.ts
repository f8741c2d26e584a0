import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { webBuildEnv } from "./env.ts";

// The API serves dist with `precompressed`: a .gz beside each text asset is sent as is.
function gzipAssets(): Plugin {
  let outDir = "dist";
  return {
    name: "callflow-gzip-assets",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      const assets = join(outDir, "assets");
      for (const file of readdirSync(assets)) {
        if (/\.(js|css|svg)$/.test(file)) {
          writeFileSync(join(assets, `${file}.gz`), gzipSync(readFileSync(join(assets, file)), { level: 9 }));
        }
      }
    },
  };
}

// `dev:hot` runs Vite's dev server beside `npm start`'s API and passes the API's routes on.
const api = webBuildEnv.CALLFLOW_API_URL;

export default defineConfig({
  plugins: [react(), gzipAssets()],
  build: { target: "es2022", sourcemap: false },
  server: {
    port: 5174,
    proxy: { "/trpc": api, "/app-config": api, "^/dev/": api },
  },
});
