let lastMs = -1;
let sequence = 0;

/**
 * UUID version 7 (RFC 9562): 48-bit Unix milliseconds, a 12-bit sequence, then random bits. Ids sort
 * by creation time, which keeps B-tree inserts local and orders events; within one millisecond the
 * sequence (method 1 of RFC 9562, section 6.2) keeps a process's ids strictly increasing.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    // Start low in the sequence's range, leaving room to count up within the millisecond.
    sequence = Math.floor(Math.random() * 0x400);
  } else if (++sequence > 0xfff) {
    lastMs += 1;
    sequence = 0;
  }
  // The random part comes from a version 4 UUID, whose variant bits are already the ones version 7
  // needs: randomUUID draws from a cached pool of entropy, much cheaper than one draw per id.
  const random = crypto.randomUUID();
  const time = lastMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-${(0x7000 | sequence).toString(16)}-${random.slice(19)}`;
}

/** The smallest version 7 UUID of a moment: every id made before it sorts below it. */
export function firstUuidv7At(ms: number): string {
  const time = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7000-8000-000000000000`;
}

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export function isUuid(value: string): boolean {
  return new RegExp(UUID_PATTERN).test(value);
}
