import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../platform/crypto';
import { DeviceTokens } from './device-tokens';

describe('device tokens', () => {
  const secrets = new SecretBox(randomBytes(32));
  const devices = new DeviceTokens(secrets, 1000);

  it('name their device for the address they were issued for, in any case, until they expire', () => {
    const token = devices.issue('Owner@Example.test', 10_000);
    const device = devices.deviceOf(token, 'owner@example.test', 10_500);
    expect(device).toMatch(/^[\w-]{22}$/);
    expect(devices.deviceOf(token, ' OWNER@example.test ', 10_999)).toBe(device);
    expect(devices.deviceOf(token, 'owner@example.test', 11_000)).toBeNull();
    expect(devices.deviceOf(token, 'someone@example.test', 10_500)).toBeNull();
  });

  it('are new devices each time, and open under no other master key', () => {
    const [a, b] = [devices.issue('a@example.test'), devices.issue('a@example.test')];
    expect(devices.deviceOf(a, 'a@example.test')).not.toBe(devices.deviceOf(b, 'a@example.test'));
    const elsewhere = new DeviceTokens(new SecretBox(randomBytes(32)));
    expect(elsewhere.deviceOf(a, 'a@example.test')).toBeNull();
    expect(devices.deviceOf('v1.not.a.token', 'a@example.test')).toBeNull();
  });
});
