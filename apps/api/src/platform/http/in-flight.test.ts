import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { trackHandlers } from './in-flight';

describe('tracked handlers', () => {
  it('settle only when a handler still running after close() has finished', async () => {
    const app = Fastify();
    trackHandlers(app);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const started = new Promise<void>((resolve) => (entered = resolve));
    app.get('/commerce/slow', async () => {
      entered();
      await released;
      return { done: true };
    });
    app.get('/health/live', async () => ({ status: 'ok' }));
    await app.ready();

    const answer = app.inject('/commerce/slow');
    await started;
    await app.close();
    let settled: boolean | null = null;
    const waiting = app.handlersSettled(5_000).then((result) => (settled = result));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBeNull();
    release();
    expect(await waiting).toBe(true);
    expect((await answer).json()).toEqual({ done: true });
  });

  it('gives up after the timeout, and settles at once when nothing runs', async () => {
    const app = Fastify();
    trackHandlers(app);
    app.get('/commerce/stuck', () => new Promise(() => undefined));
    await app.ready();
    expect(await app.handlersSettled(10)).toBe(true);
    void app.inject('/commerce/stuck');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await app.handlersSettled(20)).toBe(false);
  });
});
