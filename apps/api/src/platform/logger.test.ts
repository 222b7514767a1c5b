import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, loggableUrl } from './logger';

describe('logs', () => {
  it('redact the secrets URLs carry: the socket’s access token and the mailed links’ tokens', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const app = Fastify({ loggerInstance: createLogger({ LOG_LEVEL: 'info' }, destination) });
    app.get('/*', async () => ({ ok: true }));
    await app.inject({ url: '/ws?access_token=eyJ.secret.sig&channels=orders' });
    await app.inject({ url: '/reset-password?token=mailed-secret' });
    await app.close();
    const logged = lines.join('');
    expect(logged).toContain('"url":"/ws?access_token=[redacted]&channels=orders"');
    expect(logged).toContain('"url":"/reset-password?token=[redacted]"');
    expect(logged).not.toContain('secret');
    expect(logged).toContain('"remoteAddress":"127.0.0.1"');
  });

  it('keep everything else of a URL', () => {
    expect(loggableUrl('/commerce/orders?status=paid&limit=5')).toBe('/commerce/orders?status=paid&limit=5');
    expect(loggableUrl('/x?not_a_token=1&refresh_token=a#frag')).toBe(
      '/x?not_a_token=1&refresh_token=[redacted]#frag',
    );
    expect(loggableUrl('/auth/invitations/abc123?x=1')).toBe('/auth/invitations/[redacted]?x=1');
    expect(loggableUrl('/tenants/current/invitations/abc')).toBe('/tenants/current/invitations/abc');
  });
});
