import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { mockApi } from "./dev/mockApi.ts";

// The build goes straight into the Python package so `pip install` ships it
// and headwater serves it without Node at run time.
export default defineConfig(({ command }) => ({
  base: "/",
  plugins: [react(), ...(command === "serve" && !process.env.HEADWATER_URL ? [mockApi()] : [])],
  build: {
    outDir: "../src/headwater/web/static",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    // No inline scripts or data: URLs, so a strict CSP (script-src 'self') works.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  worker: { format: "es" },
  server: {
    proxy: process.env.HEADWATER_URL
      ? { "/api": { target: process.env.HEADWATER_URL, changeOrigin: true } }
      : undefined,
  },
}));
