import { describe, expect, it } from 'vitest';
import { csvPages, csvRecord, exportFileName, zonedTimestamp } from './csv';

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

describe('exportFileName', () => {
  it('names the first and the last day exported, not the excluded end', () => {
    expect(
      exportFileName('orders', new Date('2026-11-01T00:00:00Z'), new Date('2026-11-28T00:00:00Z'), 'UTC'),
    ).toBe('orders-2026-11-01-to-2026-11-27.csv');
    // One day: the same day twice.
    expect(
      exportFileName('payments', new Date('2026-11-27T00:00:00Z'), new Date('2026-11-28T00:00:00Z'), 'UTC'),
    ).toBe('payments-2026-11-27-to-2026-11-27.csv');
    // A period ending within a day names that day.
    expect(
      exportFileName('payments', new Date('2026-11-27T00:00:00Z'), new Date('2026-11-27T15:30:00Z'), 'UTC'),
    ).toBe('payments-2026-11-27-to-2026-11-27.csv');
  });

  it("names the days in the business's time zone", () => {
    // November in Kolkata (+05:30) starts and ends at 18:30 UTC the day before.
    expect(
      exportFileName(
        'orders',
        new Date('2026-10-31T18:30:00Z'),
        new Date('2026-11-30T18:30:00Z'),
        'Asia/Kolkata',
      ),
    ).toBe('orders-2026-11-01-to-2026-11-30.csv');
    // November in New York (-05:00) ends at 05:00 UTC on December 1st.
    expect(
      exportFileName(
        'orders',
        new Date('2026-11-01T04:00:00Z'),
        new Date('2026-12-01T05:00:00Z'),
        'America/New_York',
      ),
    ).toBe('orders-2026-11-01-to-2026-11-30.csv');
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

describe('csvPages', () => {
  /** Rows 1..count, read `size` at a time after an id, as a keyset query does; the pages asked for. */
  const table = (count: number) => {
    const rows = Array.from({ length: count }, (_, index) => ({ id: String(index + 1).padStart(3, '0') }));
    const asked: (string | null)[] = [];
    const page = async (after: string | null, size: number) => {
      asked.push(after);
      return rows.filter((row) => after === null || row.id > after).slice(0, size);
    };
    return { page, asked };
  };
  const all = async (chunks: AsyncGenerator<string>) => {
    let text = '';
    for await (const chunk of chunks) text += chunk;
    return text;
  };

  it('writes the header, then every row once, page after page, until a page comes short', async () => {
    const { page, asked } = table(5);
    const text = await all(csvPages(['id'], page, (row) => [row.id], 2));
    expect(text).toBe('id\r\n001\r\n002\r\n003\r\n004\r\n005\r\n');
    expect(asked).toEqual([null, '002', '004']);
  });

  it('asks once more after a full last page, and writes nothing for the empty one', async () => {
    const { page, asked } = table(4);
    const chunks: string[] = [];
    for await (const chunk of csvPages(['id'], page, (row) => [row.id], 2)) chunks.push(chunk);
    expect(chunks).toEqual(['id\r\n', '001\r\n002\r\n', '003\r\n004\r\n']);
    expect(asked).toEqual([null, '002', '004']);
    expect(await all(csvPages(['id'], table(0).page, (row) => [row.id], 2))).toBe('id\r\n');
  });
});
