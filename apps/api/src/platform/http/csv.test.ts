import { describe, expect, it } from 'vitest';
import { csvRecord, zonedTimestamp } from './csv';

describe('csvRecord', () => {
  it('quotes what must be quoted, and leaves the rest bare', () => {
    expect(csvRecord(['plain', 12, null, 'a,b', 'say "hi"', 'two\nlines'])).toBe(
      'plain,12,,"a,b","say ""hi""","two\nlines"\r\n',
    );
  });

  it('keeps a spreadsheet from running text as a formula', () => {
    expect(csvRecord(['=HYPERLINK("http://x")', '+1', '-2', '@SUM(A1)', '\tx', 'ok=1'])).toBe(
      `"'=HYPERLINK(""http://x"")",'+1,'-2,'@SUM(A1),'\tx,ok=1\r\n`,
    );
    // Numbers are numbers, negative ones too.
    expect(csvRecord([-5])).toBe('-5\r\n');
  });
});

describe('zonedTimestamp', () => {
  it("writes the business's wall clock with its offset", () => {
    const at = new Date('2026-11-27T17:49:05Z');
    expect(zonedTimestamp(at, 'Asia/Kathmandu')).toBe('2026-11-27T23:34:05+05:45');
    expect(zonedTimestamp(at, 'America/New_York')).toBe('2026-11-27T12:49:05-05:00');
    expect(zonedTimestamp(at, 'UTC')).toBe('2026-11-27T17:49:05+00:00');
  });
});
