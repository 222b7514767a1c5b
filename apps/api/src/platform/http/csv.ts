import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { MAX_EXPORT_DAYS } from '@tessera/contracts';
import type { FastifyReply } from 'fastify';
import type { TenantRead } from '../db/tenant';
import { tenantTimeZone } from '../db/time-zones';
import { AppError } from '../errors';

/** An export route's 200: sent as a stream, never serialized; the schema documents it as text. */
export const CsvFile = {
  description: 'CSV (RFC 4180), a header line first',
  content: { 'text/csv': { schema: Type.Unsafe<Readable>({ type: 'string' }) } },
};

/** An export as it is offered: the file's name and its records, streamed. */
export interface CsvExport {
  fileName: string;
  records: AsyncGenerator<string>;
}

/** Streams an export's records as a CSV download under its file name. */
export function sendCsv(reply: FastifyReply, csv: CsvExport) {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${csv.fileName}"`)
    .send(Readable.from(csv.records));
}

/** An export's period, [from, to): refused (400, on `to`) when empty or longer than a year. */
export function checkExportPeriod(from: Date, to: Date): void {
  const refuse = (message: string) =>
    new AppError('validation_failed', `to ${message}`, { errors: [{ path: 'to', message }] });
  if (!(from < to)) throw refuse('must be after from');
  if (to.getTime() - from.getTime() > MAX_EXPORT_DAYS * 86_400_000)
    throw refuse(`must be at most ${MAX_EXPORT_DAYS} days after from`);
}

/**
 * An export of the tenant's [from, to), refused first when the period is not one (400): its records
 * come from `pages`, given the tenant's time zone, in which its file is named and its times written.
 */
export async function csvExport(
  read: TenantRead,
  what: string,
  from: Date,
  to: Date,
  pages: (timeZone: string) => AsyncGenerator<string>,
): Promise<CsvExport> {
  checkExportPeriod(from, to);
  const timeZone = await read(tenantTimeZone);
  return { fileName: exportFileName(what, from, to, timeZone), records: pages(timeZone) };
}

/**
 * The file name an export of [from, to) is offered under, by its first and last days in the
 * business's time zone: November's orders, to = December's first midnight there, are
 * `orders-2026-11-01-to-2026-11-30.csv`.
 */
export function exportFileName(what: string, from: Date, to: Date, timeZone: string): string {
  // en-CA writes a date as YYYY-MM-DD.
  const days = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  // `to` is excluded: the last day is the one of the moment before it.
  return `${what}-${days.format(from)}-to-${days.format(new Date(to.getTime() - 1))}.csv`;
}

/**
 * One CSV record (RFC 4180), ended by CRLF. A field is quoted when it holds a comma, a quote or a
 * line break. Text that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
 * carriage return) starts with an apostrophe instead: an export must not carry a customer's
 * "=HYPERLINK(...)" into the accountant's spreadsheet (OWASP, CSV injection). Numbers go as they are.
 */
export function csvRecord(fields: readonly (string | number | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows an export reads at once, each page in a transaction of its own. */
const EXPORT_PAGE_SIZE = 500;

/**
 * An export, page by page: the header, then each page's records, until a page comes short.
 * `page(after, size)` reads the `size` rows after the row whose id is `after` (null: the first):
 * a year of a busy shop streams without holding its rows, or one transaction, open.
 */
export async function* csvPages<Row extends { id: string }>(
  header: readonly string[],
  page: (after: string | null, size: number) => Promise<readonly Row[]>,
  record: (row: Row) => (string | number | null)[],
  size = EXPORT_PAGE_SIZE,
): AsyncGenerator<string> {
  yield csvRecord(header);
  let after: string | null = null;
  for (;;) {
    const rows = await page(after, size);
    if (rows.length > 0) yield rows.map((row) => csvRecord(record(row))).join('');
    if (rows.length < size) return;
    after = rows.at(-1)!.id;
  }
}

/** A moment as the business reads it, with its offset: 2026-11-27T23:19:05+05:30. */
export function zonedTimestamp(date: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  }).formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((item) => item.type === type)?.value ?? '';
  // "GMT+05:30", or "GMT" at UTC.
  const offset = part('timeZoneName').replace(/^GMT/, '') || '+00:00';
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}:${part('second')}${offset}`;
}
