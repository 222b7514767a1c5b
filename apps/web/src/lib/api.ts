import { ApiError } from './problem';
import { session } from './session';

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** Sent as `Idempotency-Key`: the same key for retries of one action replays its first answer. */
  idempotencyKey?: string;
  /** Public routes (register, login, reset...) go without a token. */
  auth?: boolean;
  /** A list is sent as the parameter repeated, once per item. */
  query?: Record<string, string | number | boolean | readonly string[] | null | undefined>;
  signal?: AbortSignal;
}

/**
 * A random UUID (v4) for Idempotency-Key. Written out rather than imported from the contracts
 * package, whose index also carries the API's runtime schemas; crypto.randomUUID needs a secure
 * context, getRandomValues does not.
 */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function withQuery(path: string, query: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) for (const item of value as readonly string[]) params.append(key, item);
    else if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

async function send(path: string, options: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  try {
    return await fetch(withQuery(path, options.query), {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, { title: 'Network error' });
  }
}

/** A 401 that judges what the user typed (a wrong current password), not the access token. */
async function isCredentialCheck(response: Response): Promise<boolean> {
  const problem = (await response
    .clone()
    .json()
    .catch(() => ({}))) as { code?: string };
  return problem.code === 'invalid_credentials';
}

/** Sends a request with the access token attached, renewed once on a 401. */
async function authorized(path: string, options: RequestOptions): Promise<Response> {
  const auth = options.auth ?? true;
  let token = auth ? await session.token() : null;
  if (auth && !token) throw new ApiError(401, { code: 'unauthenticated', title: 'Please sign in' });
  let response = await send(path, options, token);
  if (auth && response.status === 401 && !(await isCredentialCheck(response))) {
    token = await session.refresh(token);
    if (!token) throw new ApiError(401, { code: 'unauthenticated', title: 'Please sign in' });
    response = await send(path, options, token);
  }
  return response;
}

/**
 * Fetches a file the API makes (a CSV export) and hands it to the browser as a download, named as
 * the API names it. A refusal is thrown as the API's problem, as api() does.
 */
export async function download(path: string, options: RequestOptions = {}): Promise<void> {
  const response = await authorized(path, options);
  if (!response.ok) throw refusal(response, await bodyOf(response));
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'export';
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Calls the API: JSON in and out, the access token attached and renewed once on a 401. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await authorized(path, options);
  if (response.status === 204) return undefined as T;
  const body = await bodyOf(response);
  if (!response.ok) throw refusal(response, body);
  return body as T;
}

async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

/** A refusal as the error the app shows: the problem document, with Retry-After when given. */
function refusal(response: Response, body: unknown): ApiError {
  const problem = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const retryAfter = response.headers.get('retry-after');
  if (retryAfter) problem.retry_after = Number(retryAfter);
  return new ApiError(response.status, problem);
}
