import { createHash, randomBytes } from 'node:crypto';

/**
 * Opaque tokens (refresh, reset, verification, invitation): 256 random bits, stored only as their
 * SHA-256. A tenant-owned token also carries its tenant's id in the clear (not a secret), so it is
 * looked up inside that tenant's RLS transaction; a forged id just finds nothing.
 */
const SECRET_BYTES = 32;

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A random token: base64url of 256 bits. */
export function newToken(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

const UUID_HEX = /^[0-9a-f]{32}$/;

function uuidToBase64url(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

function base64urlToUuid(part: string): string | null {
  const hex = Buffer.from(part, 'base64url').toString('hex');
  if (!UUID_HEX.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A tenant-scoped token: `<tenant id, 22 chars>.<256-bit secret>`. */
export function newTenantToken(tenantId: string): string {
  return `${uuidToBase64url(tenantId)}.${newToken()}`;
}

/** The tenant a tenant-scoped token names, or null when the token is malformed. */
export function tenantOfToken(token: string): string | null {
  const [tenantPart, secret, extra] = token.split('.');
  if (!tenantPart || !secret || extra !== undefined || tenantPart.length !== 22 || secret.length !== 43)
    return null;
  return base64urlToUuid(tenantPart);
}
