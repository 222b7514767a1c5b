#!/usr/bin/env node
// The `tessera` command: the built API's entry point (`npm run build` makes it).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('tessera is not built yet: run `npm run build` first');
  process.exit(1);
}
await import(entry.href);
