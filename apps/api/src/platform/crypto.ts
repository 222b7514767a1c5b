import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config';

/**
 * Secrets at rest (JWT private keys, gateway credentials) are sealed with AES-256-GCM under the
 * master key. Format: `v1.<iv>.<tag>.<ciphertext>`, base64url parts; the associated data binds a
 * sealed value to its purpose (and tenant), so a value copied to another row does not open.
 *
 * The box holds the current key, which seals, and the retired keys of a rotation, which only open:
 * GCM's tag tells which key sealed a value, so the format needs no key id. `reseal` moves a value
 * to the current key; the `reseal-secrets` command does it for every sealed column.
 */
export class SecretBox {
  private readonly keys: Buffer[];

  constructor(current: Buffer, retired: Buffer[] = []) {
    this.keys = [current, ...retired];
    if (this.keys.some((key) => key.length !== 32)) throw new Error('A master key must be 32 bytes');
  }

  seal(plaintext: string, associatedData: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  open(sealed: string, associatedData: string): string {
    return this.openWith(sealed, associatedData).plaintext;
  }

  /** The value sealed under the current key, or null when it already is. */
  reseal(sealed: string, associatedData: string): string | null {
    const { plaintext, keyIndex } = this.openWith(sealed, associatedData);
    return keyIndex === 0 ? null : this.seal(plaintext, associatedData);
  }

  private openWith(sealed: string, associatedData: string): { plaintext: string; keyIndex: number } {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || ciphertext === undefined) throw new Error('Unknown sealed format');
    for (const [keyIndex, key] of this.keys.entries()) {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      try {
        const plaintext = Buffer.concat([
          decipher.update(Buffer.from(ciphertext, 'base64url')),
          decipher.final(),
        ]).toString('utf8');
        return { plaintext, keyIndex };
      } catch {
        // Not this key (or not this associated data): the next key may have sealed it.
      }
    }
    throw new Error('The sealed value does not open under any master key');
  }
}

/**
 * Moves every value of `rows` still sealed under a retired key to the current one, through
 * `update`; answers how many moved. A value no key opens throws: the rotation is not complete.
 */
export async function resealRows<Row>(
  box: SecretBox,
  rows: Row[],
  sealedOf: (row: Row) => { sealed: string; associatedData: string },
  update: (row: Row, sealed: string) => Promise<void>,
): Promise<number> {
  let moved = 0;
  for (const row of rows) {
    const { sealed, associatedData } = sealedOf(row);
    const resealed = box.reseal(sealed, associatedData);
    if (resealed === null) continue;
    await update(row, resealed);
    moved += 1;
  }
  return moved;
}

/** MASTER_KEY_PREVIOUS: the keys a rotation retired, which still open what they sealed. */
export function loadRetiredKeys(config: Pick<Config, 'MASTER_KEY_PREVIOUS'>): Buffer[] {
  return (config.MASTER_KEY_PREVIOUS ?? '')
    .split(',')
    .filter((key) => key !== '')
    .map((key) => Buffer.from(key, 'base64'));
}

/**
 * MASTER_KEY from the environment; in development without one, a key generated once and kept in
 * DATA_DIR/master.key (mode 0600), so the embedded default needs no set-up and survives restarts.
 */
export function loadMasterKey(config: Pick<Config, 'MASTER_KEY' | 'DATA_DIR'>): Buffer {
  if (config.MASTER_KEY) return Buffer.from(config.MASTER_KEY, 'base64');
  const file = path.join(config.DATA_DIR, 'master.key');
  if (fs.existsSync(file)) return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  const key = randomBytes(32);
  fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
