import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HashingRefused, HashingThreads } from './hashing-threads';
import { ARGON2_PARAMS, hashPassword, verifyPassword } from './passwords';

const PASSWORD = 'correct horse battery staple';

/** How many of this process's threads run at `nice` (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadsAtNice(nice: number): number {
  return fs.readdirSync('/proc/self/task').filter((tid) => {
    const afterName = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!;
    return Number(afterName.split(' ')[16]) === nice;
  }).length;
}

/** The next job handed to a hashing thread kills that thread instead of reaching it. */
function killNextThread(): void {
  vi.spyOn(Worker.prototype, 'postMessage').mockImplementationOnce(function (this: Worker) {
    void this.terminate();
  });
}

describe('hashing threads', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.runIf(process.platform === 'linux')(
    'hashes on at most `size` threads of their own, below the event loop’s priority',
    async () => {
      // A niceness no other code here uses, so the threads counted are this pool's.
      const threads = new HashingThreads(2, 13);
      const hash = await threads.hash(PASSWORD, ARGON2_PARAMS);
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => threads.verify(hash, i % 2 ? PASSWORD : `${PASSWORD}!`)),
      );
      expect(answers).toEqual([false, true, false, true, false, true]);
      expect(threadsAtNice(13)).toBe(2);
      expect(os.getPriority()).toBe(0);
    },
  );

  it('fails a job argon2 refuses, and goes on serving', async () => {
    const threads = new HashingThreads(1, 10);
    await expect(threads.verify('not a PHC string', PASSWORD)).rejects.toBeInstanceOf(HashingRefused);
    // A stored hash argon2 cannot read verifies nothing: the login answers as for a wrong password.
    expect(await verifyPassword('not a PHC string', PASSWORD)).toBe(false);
    const hash = await threads.hash(PASSWORD, ARGON2_PARAMS);
    expect(await threads.verify(hash, PASSWORD)).toBe(true);
  });

  it('keeps a process alive while it hashes, and lets it exit once idle', async () => {
    // A command-line task whose only work is hashing: it must print both hashes (the second on a
    // thread that had gone idle), then end by itself.
    const apiRoot = fileURLToPath(new URL('../../..', import.meta.url));
    const script = `import { hashPassword } from './src/modules/auth/passwords.ts';
      console.log(await hashPassword('first password'));
      console.log(await hashPassword('second password'));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: apiRoot, timeout: 20_000 },
    );
    expect(stdout).toMatch(/^\$argon2id\$.+\n\$argon2id\$.+\n$/);
  });

  it('fails the job of a thread that dies, hands the next job a new thread, and goes on serving', async () => {
    const threads = new HashingThreads(1, 10);
    const hash = await threads.hash(PASSWORD, ARGON2_PARAMS);
    killNextThread();
    const lost = threads.verify(hash, PASSWORD);
    // Queued behind the dying job on the only thread: it must not wait forever.
    const queued = threads.verify(hash, PASSWORD);
    await expect(lost).rejects.toThrow('hashing thread exited with code 1');
    await expect(lost).rejects.not.toBeInstanceOf(HashingRefused);
    expect(await queued).toBe(true);
    expect(await threads.verify(hash, `${PASSWORD}!`)).toBe(false);
  });

  it('answers a login whose hashing thread died with an error, not with a wrong password', async () => {
    const hash = await hashPassword(PASSWORD);
    killNextThread();
    await expect(verifyPassword(hash, PASSWORD)).rejects.toThrow('hashing thread exited');
    expect(await verifyPassword(hash, PASSWORD)).toBe(true);
  });
});
