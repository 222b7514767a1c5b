import { ConfigError, loadConfig, type Config } from './platform/config';
import { createDatabase } from './platform/db/database';
import { migrate } from './platform/db/migrate';
import { startServer } from './server';

async function runMigrations(config: Config): Promise<void> {
  const database = await createDatabase({
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: config.DATA_DIR,
    poolSize: 2,
  });
  try {
    const applied = await migrate(database);
    console.log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await database.close();
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const command = process.argv[2] ?? 'start';
  switch (command) {
    case 'migrate':
      await runMigrations(config);
      return;
    case 'start':
      await startServer(config);
      return;
    default:
      console.error(`Unknown command "${command}"; expected start or migrate`);
      process.exit(2);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
