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
