import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from './crypto';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, and the sealed text hides the secret', () => {
    const sealed = box.seal('sk_test_secret', 'gateway:stripe:tenant-1');
    expect(sealed).not.toContain('sk_test_secret');
    expect(box.open(sealed, 'gateway:stripe:tenant-1')).toBe('sk_test_secret');
  });

  it('refuses another purpose, a tampered value and another key', () => {
    const sealed = box.seal('secret', 'a');
    expect(() => box.open(sealed, 'b')).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('forged').toString('base64url');
    expect(() => box.open(parts.join('.'), 'a')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'a')).toThrow();
  });

  it('opens with a retired key during a rotation, seals only with the current one, and re-seals', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealedBefore = new SecretBox(oldKey).seal('secret', 'a');
    const rotating = new SecretBox(newKey, [oldKey]);
    expect(rotating.open(sealedBefore, 'a')).toBe('secret');
    expect(() => rotating.open(sealedBefore, 'b')).toThrow('does not open under any master key');
    const resealed = rotating.reseal(sealedBefore, 'a')!;
    expect(new SecretBox(newKey).open(resealed, 'a')).toBe('secret');
    expect(() => new SecretBox(oldKey).open(resealed, 'a')).toThrow();
    expect(rotating.reseal(resealed, 'a')).toBeNull();
    expect(() => new SecretBox(newKey).open(rotating.seal('fresh', 'a'), 'a')).not.toThrow();
  });
});
