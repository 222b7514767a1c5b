import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Options } from '@node-rs/argon2';

type HashingJob =
  { op: 'hash'; password: string; options: Options } | { op: 'verify'; hash: string; password: string };

type Answer = { value: string | boolean } | { error: string };

interface Pending {
  job: HashingJob;
  resolve: (value: string | boolean) => void;
  reject: (error: Error) => void;
}

/**
 * A hashing thread: one argon2 job at a time, synchronously, at the niceness it was given. On Linux
 * the niceness is per thread, so only this thread yields; elsewhere it would lower the whole
 * process, so it is left alone there. Evaluated code is CommonJS or an ES module depending on the
 * flags the process started with, so it reaches modules through process.getBuiltinModule only.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const argon2 = process.getBuiltinModule('node:module').createRequire(workerData.argon2)(workerData.argon2);
if (process.platform === 'linux') process.getBuiltinModule('node:os').setPriority(0, workerData.nice);
parentPort.on('message', (job) => {
  try {
    const value =
      job.op === 'hash' ? argon2.hashSync(job.password, job.options) : argon2.verifySync(job.hash, job.password);
    parentPort.postMessage({ value });
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});
`;

/** argon2 refused the job (a malformed hash, say): unlike a thread that died, an answer. */
export class HashingRefused extends Error {}

const ARGON2_MODULE = createRequire(import.meta.url).resolve('@node-rs/argon2');

/**
 * argon2id on threads of its own, below the event loop's priority. A hash takes tens of
 * milliseconds of a core and anyone can ask for one (a login with a wrong password); on libuv's
 * pool at normal priority a burst of logins took the cores from the event loop, PostgreSQL and every
 * other request. Here the scheduler runs those first and the hashes take the rest, so a flood of
 * logins slows logins, not the API. Threads start on demand, up to `size`, and do not keep the
 * process alive while idle.
 */
export class HashingThreads {
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, Pending>();
  private readonly waiting: Pending[] = [];
  private readonly live = new Set<Worker>();

  constructor(
    private readonly size: number,
    private readonly nice: number,
  ) {}

  async hash(password: string, options: Options): Promise<string> {
    return String(await this.run({ op: 'hash', password, options }));
  }

  async verify(hash: string, password: string): Promise<boolean> {
    return (await this.run({ op: 'verify', hash, password })) === true;
  }

  private run(job: HashingJob): Promise<string | boolean> {
    return new Promise((resolve, reject) => this.dispatch({ job, resolve, reject }));
  }

  private dispatch(pending: Pending): void {
    const worker = this.idle.pop() ?? (this.live.size < this.size ? this.spawn() : undefined);
    if (!worker) {
      this.waiting.push(pending);
      return;
    }
    this.start(worker, pending);
  }

  private start(worker: Worker, pending: Pending): void {
    this.running.set(worker, pending);
    worker.ref();
    worker.postMessage(pending.job);
  }

  private spawn(): Worker {
    const worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: { argon2: ARGON2_MODULE, nice: this.nice },
    });
    this.live.add(worker);
    worker.on('message', (answer: Answer) => this.answered(worker, answer));
    worker.on('error', (error) => this.lost(worker, error));
    worker.on('exit', (code) => this.lost(worker, new Error(`hashing thread exited with code ${code}`)));
    return worker;
  }

  private answered(worker: Worker, answer: Answer): void {
    const pending = this.running.get(worker);
    this.running.delete(worker);
    if ('error' in answer) pending?.reject(new HashingRefused(answer.error));
    else pending?.resolve(answer.value);
    const next = this.waiting.shift();
    if (next) {
      this.start(worker, next);
    } else {
      worker.unref();
      this.idle.push(worker);
    }
  }

  /** A thread that died fails its job; a waiting job gets a new thread. */
  private lost(worker: Worker, error: Error): void {
    if (!this.live.delete(worker)) return;
    const at = this.idle.indexOf(worker);
    if (at !== -1) this.idle.splice(at, 1);
    this.running.get(worker)?.reject(error);
    this.running.delete(worker);
    const next = this.waiting.shift();
    if (next) this.dispatch(next);
  }
}
