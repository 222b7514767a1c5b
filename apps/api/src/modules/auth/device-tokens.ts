import { randomBytes } from 'node:crypto';
import type { SecretBox } from '../../platform/crypto';

/** How long a device stays known after its last sign-in there. */
export const DEVICE_TOKEN_LIFETIME_MS = 180 * 86_400_000;

/**
 * Device tokens (OWASP's "device cookies"): a browser where an address signed in before holds one,
 * sealed under the master key for that address. Its attempts are limited per device instead of
 * per address, so that an attacker who keeps failing against an address from elsewhere cannot
 * lock its owner out; without one, attempts count against the address as before.
 */
export class DeviceTokens {
  constructor(
    private readonly secrets: SecretBox,
    private readonly lifetimeMs = DEVICE_TOKEN_LIFETIME_MS,
  ) {}

  issue(email: string, now = Date.now()): string {
    const body = { device: randomBytes(16).toString('base64url'), expires: now + this.lifetimeMs };
    return this.secrets.seal(JSON.stringify(body), associatedData(email));
  }

  /** The device's id, when the token was issued for this address and is still valid; else null. */
  deviceOf(token: string, email: string, now = Date.now()): string | null {
    try {
      const body = JSON.parse(this.secrets.open(token, associatedData(email))) as {
        device?: unknown;
        expires?: unknown;
      };
      if (typeof body.device !== 'string' || typeof body.expires !== 'number' || body.expires <= now)
        return null;
      return body.device;
    } catch {
      return null;
    }
  }
}

const associatedData = (email: string) => `device:${email.trim().toLowerCase()}`;
