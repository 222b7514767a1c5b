import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.TESSERA_API ?? 'http://localhost:8000';
const apiPaths = [
  '/auth',
  '/tenants',
  '/commerce',
  '/api',
  '/webhooks',
  '/health',
  '/graphql',
  '/.well-known',
];

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      ...Object.fromEntries(apiPaths.map((path) => [path, api])),
      '/ws': { target: api.replace(/^http/, 'ws'), ws: true },
    },
  },
  build: { outDir: 'dist', sourcemap: true, chunkSizeWarningLimit: 600 },
});
