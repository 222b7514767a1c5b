import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import { resealRows, type SecretBox } from '../../platform/crypto';
import type { DB } from '../../platform/db/tables';
import { withSystem } from '../../platform/db/tenant';
import { signingKeys } from './repository';

/** The one signing algorithm: EdDSA over Ed25519. Verification accepts nothing else. */
export const SIGNING_ALG = 'EdDSA';

export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: string;
  use: 'sig';
}

interface LoadedKey {
  kid: string;
  publicKey: KeyObject;
  privateKey: KeyObject | null;
  jwk: PublicJwk;
  retired: boolean;
}

/** How often a process re-reads the keys (to follow a rotation made by another process). */
const REFRESH_MS = 60_000;
/** The least time between two reloads caused by tokens naming an unknown kid. */
const UNKNOWN_KID_RELOAD_MS = 5_000;

const sealContext = (kid: string) => `signing_key:${kid}`;

/**
 * The access-token signing keys, kept in the database (private parts sealed with the master key)
 * and cached in each process. The newest unretired key signs; retired keys keep verifying and stay
 * in the JWKS until their tokens have expired.
 */
export class SigningKeys {
  private keys = new Map<string, LoadedKey>();
  private active: LoadedKey | null = null;
  private loadedAt = 0;
  private lastUnknownReload = 0;
  private loading: Promise<void> | null = null;
  private initializing: Promise<void> | null = null;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly secrets: SecretBox,
    private readonly logger: Logger,
    private readonly accessTokenTtlSeconds: number,
  ) {}

  /** Loads the keys, generating the first one if there is none (first start). Idempotent. */
  init(): Promise<void> {
    this.initializing ??= this.initialize().catch((error: unknown) => {
      this.initializing = null;
      throw error;
    });
    return this.initializing;
  }

  private async initialize(): Promise<void> {
    await this.reload();
    if (!this.active) {
      await withSystem(this.db, async (tx) => {
        // One process generates the first key; the others wait here and then find it.
        await sql`select pg_advisory_xact_lock(hashtext('tessera:signing_keys'))`.execute(tx);
        const existing = await signingKeys.list(tx);
        if (!existing.some((key) => key.retired_at === null)) await this.insertNewKey(tx);
      });
      await this.reload();
    }
  }

  /** The key that signs now (reloaded in the background every minute). */
  async signingKey(): Promise<{ kid: string; privateKey: KeyObject }> {
    if (!this.active) await this.init();
    if (Date.now() - this.loadedAt > REFRESH_MS) await this.reload();
    const active = this.active;
    if (!active?.privateKey) throw new Error('No signing key could be loaded');
    return { kid: active.kid, privateKey: active.privateKey };
  }

  /** The public key for a kid, or null; an unknown kid triggers one throttled reload. */
  async publicKey(kid: string): Promise<KeyObject | null> {
    const known = this.keys.get(kid);
    if (known && Date.now() - this.loadedAt <= REFRESH_MS) return known.publicKey;
    const now = Date.now();
    if (known || now - this.lastUnknownReload > UNKNOWN_KID_RELOAD_MS) {
      if (!known) this.lastUnknownReload = now;
      await this.reload();
    }
    return this.keys.get(kid)?.publicKey ?? null;
  }

  async jwks(): Promise<{ keys: PublicJwk[] }> {
    if (Date.now() - this.loadedAt > REFRESH_MS) await this.reload();
    return { keys: [...this.keys.values()].map((key) => key.jwk) };
  }

  /**
   * Rotates: a new key signs from now on; the old ones are retired and published until every
   * token they signed has expired (access-token lifetime plus a minute of clock skew).
   */
  async rotate(): Promise<string> {
    const kid = await withSystem(this.db, async (tx) => {
      await sql`select pg_advisory_xact_lock(hashtext('tessera:signing_keys'))`.execute(tx);
      const now = new Date();
      const newKid = await this.insertNewKey(tx);
      await signingKeys.retireOthers(
        tx,
        newKid,
        now,
        new Date(now.getTime() + (this.accessTokenTtlSeconds + 60) * 1000),
      );
      return newKid;
    });
    await this.reload();
    this.logger.info({ kid }, 'access-token signing key rotated');
    return kid;
  }

  /** Seals every private key under the current master key (after a rotation); answers how many moved. */
  async resealPrivateKeys(): Promise<number> {
    return withSystem(this.db, async (tx) =>
      resealRows(
        this.secrets,
        await signingKeys.listSealed(tx),
        (row) => ({ sealed: row.private_key_sealed, associatedData: sealContext(row.kid) }),
        (row, sealed) => signingKeys.setSealed(tx, row.kid, sealed),
      ),
    );
  }

  private async insertNewKey(db: Kysely<DB>): Promise<string> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(6).toString('hex')}`;
    const jwk = publicKey.export({ format: 'jwk' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await signingKeys.insert(db, {
      kid,
      alg: SIGNING_ALG,
      public_jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
      private_key_sealed: this.secrets.seal(pem, sealContext(kid)),
      created_at: new Date(),
    });
    return kid;
  }

  private reload(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = null));
    return this.loading;
  }

  private async load(): Promise<void> {
    const rows = await signingKeys.list(this.db);
    const keys = new Map<string, LoadedKey>();
    let active: LoadedKey | null = null;
    for (const row of rows) {
      if (row.alg !== SIGNING_ALG) continue;
      const stored = (typeof row.public_jwk === 'string' ? JSON.parse(row.public_jwk) : row.public_jwk) as {
        kty: string;
        crv: string;
        x: string;
      };
      const retired = row.retired_at !== null;
      let privateKey: KeyObject | null = null;
      if (!retired && !active) {
        privateKey = createPrivateKey(this.secrets.open(row.private_key_sealed, sealContext(row.kid)));
      }
      const key: LoadedKey = {
        kid: row.kid,
        publicKey: createPublicKey({ key: { ...stored }, format: 'jwk' }),
        privateKey,
        jwk: { kty: stored.kty, crv: stored.crv, x: stored.x, kid: row.kid, alg: SIGNING_ALG, use: 'sig' },
        retired,
      };
      keys.set(row.kid, key);
      if (privateKey) active = key;
    }
    this.keys = keys;
    this.active = active;
    this.loadedAt = Date.now();
  }
}
