import type { ColumnType, Generated } from 'kysely';

/**
 * The database's tables as Kysely sees them. Platform tables are declared here; each module
 * declares its own tables beside its repository by augmenting this interface:
 * `declare module '../../platform/db/tables' { interface DB { products: ProductsTable } }`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface DB extends PlatformTables {}

export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type Json<T> = ColumnType<T, string, string>;

export interface PlatformTables {
  schema_migrations: {
    version: string;
    checksum: string;
    applied_at: Generated<Date>;
  };
  tenants: {
    id: string;
    name: string;
    time_zone: Generated<string>;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  outbox_events: {
    seq: Generated<number>;
    id: string;
    tenant_id: string;
    type: string;
    stream: string;
    payload: Json<unknown>;
    created_at: Generated<Date>;
    published_at: Date | null;
    published_batch: number | null;
  };
  processed_events: {
    consumer: string;
    event_id: string;
    processed_at: Generated<Date>;
  };
  dead_letters: {
    id: Generated<number>;
    consumer: string;
    event_id: string;
    stream: string;
    payload: Json<unknown>;
    error: string;
    attempts: number;
    failed_at: Generated<Date>;
    replayed_at: Date | null;
  };
}
