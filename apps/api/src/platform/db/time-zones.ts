import { sql } from 'kysely';
import type { Executor } from './tenant';

/**
 * The time zones PostgreSQL knows (its tz database, which differs from Node's ICU), read once:
 * pg_timezone_names takes tens of milliseconds to read.
 */
export class PostgresTimeZones {
  private names: Map<string, string> | undefined;

  /** PostgreSQL's own spelling of a zone name (it reads them without regard to case), or null. */
  async spelling(db: Executor, name: string): Promise<string | null> {
    if (!this.names) {
      const result = await sql<{ name: string }>`select name from pg_timezone_names`.execute(db);
      this.names = new Map(result.rows.map((row) => [row.name.toLowerCase(), row.name]));
    }
    return this.names.get(name.toLowerCase()) ?? null;
  }
}
