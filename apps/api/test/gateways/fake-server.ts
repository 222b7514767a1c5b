import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RecordedCall {
  method: string;
  path: string;
  idempotencyKey: string | null;
  body: string;
}

export const randomId = (prefix: string, bytes = 12): string =>
  `${prefix}${randomBytes(bytes).toString('hex')}`;

/**
 * A local HTTP server standing in for a payment gateway. It records every call, and can be told
 * to process the next requests but never answer (a gateway that timed out after doing the work).
 */
export class FakeHttpServer {
  readonly calls: RecordedCall[] = [];
  private server: http.Server | null = null;
  private hangs: { count: number; request: RegExp | null }[] = [];
  private readonly interceptions: { request: RegExp; work: (answer: FakeResponse) => Promise<void> }[] = [];
  private readonly hanging = new Set<http.ServerResponse>();
  baseUrl = '';

  constructor(
    private readonly handler: (request: FakeRequest) => FakeResponse | Promise<FakeResponse>,
    private readonly idempotencyHeader: string | null,
  ) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void this.serve(req, res, Buffer.concat(chunks).toString('utf8'));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /**
   * The next `count` requests are processed but never answered; with `request`, only those whose
   * method and path ("POST /v2/payments") it matches.
   */
  hangNext(count = 1, request: RegExp | null = null): void {
    this.hangs.push({ count, request });
  }

  /**
   * The next request whose method and path ("POST /v1/payment_intents") `request` matches is
   * processed, then `work` runs with its answer before the answer is sent: what a gateway does at
   * that moment (its webhook goes out as it answers).
   */
  beforeAnswering(request: RegExp, work: (answer: FakeResponse) => Promise<void>): void {
    this.interceptions.push({ request, work });
  }

  callsTo(method: string, pathPattern: RegExp): RecordedCall[] {
    return this.calls.filter((call) => call.method === method && pathPattern.test(call.path));
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse, rawBody: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const key = this.idempotencyHeader ? req.headers[this.idempotencyHeader] : undefined;
    this.calls.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      idempotencyKey: typeof key === 'string' ? key : null,
      body: rawBody,
    });
    let answer: FakeResponse;
    try {
      answer = await this.handler({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        rawBody,
      });
    } catch (error) {
      answer = { status: 500, body: { error: String(error) } };
    }
    const interception = this.interceptions.find((entry) =>
      entry.request.test(`${req.method} ${url.pathname}`),
    );
    if (interception) {
      this.interceptions.splice(this.interceptions.indexOf(interception), 1);
      await interception.work(answer);
    }
    const hang = this.hangs.find(
      (entry) => !entry.request || entry.request.test(`${req.method} ${url.pathname}`),
    );
    if (hang) {
      if (--hang.count === 0) this.hangs.splice(this.hangs.indexOf(hang), 1);
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...answer.headers,
    });
    res.end(body);
  }
}

/**
 * Replays a stored answer for a repeated idempotency key, as the gateways do. A key whose first
 * request is still being processed is in use: a concurrent request with it gets the gateway's
 * "in progress" answer, and nothing is stored for it.
 */
export class IdempotencyStore {
  private readonly answers = new Map<string, { fingerprint: string; answer: FakeResponse }>();
  private readonly running = new Set<string>();
  private readonly delays: number[] = [];

  /** The next `count` keyed requests take `ms` to process, their key in use meanwhile. */
  slowNext(ms: number, count = 1): void {
    for (let i = 0; i < count; i++) this.delays.push(ms);
  }

  /**
   * The answer to a keyed request: the stored one (through `replay`), `mismatch` for other
   * parameters, `inUse` while the key's first request runs, else `work`'s, stored.
   */
  async answer(
    key: string,
    fingerprint: string,
    work: () => FakeResponse,
    answers: { mismatch: FakeResponse; inUse: FakeResponse; replay?: (stored: FakeResponse) => FakeResponse },
  ): Promise<FakeResponse> {
    if (this.running.has(key)) return answers.inUse;
    const found = this.answers.get(key);
    if (found) {
      if (found.fingerprint !== fingerprint) return answers.mismatch;
      return answers.replay ? answers.replay(found.answer) : found.answer;
    }
    this.running.add(key);
    try {
      const delay = this.delays.shift();
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
      const answer = work();
      this.answers.set(key, { fingerprint, answer });
      return answer;
    } finally {
      this.running.delete(key);
    }
  }
}
