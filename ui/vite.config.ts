// Builds the dashboard into the gateway's ui_dir (the build tree's ui/dist by default, see
// CMakeLists.txt). Hashed names under assets/, no inline script (the gateway's
// Content-Security-Policy allows scripts from its own origin only), nothing from a CDN.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/ui/',
  build: {
    outDir: process.env.HL_UI_OUT_DIR ?? '../build/ui/dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
});
