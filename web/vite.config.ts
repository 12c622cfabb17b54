// Builds the dashboard into the package directory that `attribo serve` serves at `/`.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import tailwindcss from '@tailwindcss/vite';

export default defineConfig({
  plugins: [svelte(), tailwindcss()],
  base: '/',
  build: {
    outDir: '../src/attribo/api/web_dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: { '/v1': 'http://127.0.0.1:8080', '/c': 'http://127.0.0.1:8080', '/i': 'http://127.0.0.1:8080' },
  },
});
