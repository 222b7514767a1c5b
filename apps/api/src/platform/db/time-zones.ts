import { sql } from 'kysely';
import { AppError } from '../errors';
import type { Executor } from './tenant';

/** The time zone of the transaction's tenant (row-level security shows it its own row only). */
export async function tenantTimeZone(db: Executor): Promise<string> {
  const row = await db.selectFrom('tenants').select('time_zone').executeTakeFirst();
  return row?.time_zone ?? 'UTC';
}

/** Whether ICU knows the zone, aliases included (Intl.supportedValuesOf lists CLDR's older names only). */
function isIntlTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

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

  /**
   * The zone's name as a tenant's is stored: PostgreSQL's spelling of it, when both PostgreSQL
   * (whose queries count the dashboards' local days in it) and Node's ICU (whose Intl formats the
   * times) know it. Their tz databases differ: ICU still takes zones that tzdata removed, such as
   * US/Pacific-New, which PostgreSQL refuses; PostgreSQL takes names such as `localtime` and
   * `posixrules`, which are no zones to ICU. Any other name is a validation error of `time_zone`.
   */
  async tenantZone(db: Executor, wanted: string): Promise<string> {
    const name = await this.spelling(db, wanted);
    if (name === null || !isIntlTimeZone(name)) {
      throw new AppError('validation_failed', `${wanted} is not a supported IANA time zone`, {
        errors: [{ path: 'time_zone', message: 'must be an IANA time zone such as Europe/Paris' }],
      });
    }
    return name;
  }
}
