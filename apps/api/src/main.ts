import { runCli } from './cli';
import { ConfigError, loadConfig } from './platform/config';

/** The process entry point: `node dist/main.js [command]` and the `tessera` bin; `start` by default. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const code = await runCli(process.argv.slice(2), config);
  if (code !== 0) process.exit(code);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
