import { hash, verify, type Options } from '@node-rs/argon2';
import { availableParallelism } from 'node:os';
import { COMMON_PASSWORDS } from './common-passwords';

/**
 * Password storage: argon2id (OWASP's minimum m = 19 MiB, t = 2, p = 1). The parameters are kept in
 * each PHC hash string, so raising them later still verifies old hashes. @node-rs/argon2 hashes on
 * libuv's thread pool: the event loop keeps serving while a hash is computed.
 */
export const ARGON2_PARAMS: Options = {
  // Algorithm.Argon2id: the package's const enum cannot be read under verbatimModuleSyntax.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

/**
 * Hashes in flight at most: one per core. libuv's pool has four threads whatever the cores; with
 * all four hashing, the short jobs that share the pool (signing an access token, verifying one)
 * queue behind 10-ms hashes, and the cores are oversubscribed anyway. The rest wait here, in order.
 */
const MAX_HASHING = Math.max(1, Math.min(availableParallelism(), 3));
let hashing = 0;
const waiting: (() => void)[] = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (hashing >= MAX_HASHING) await new Promise<void>((resolve) => waiting.push(resolve));
  else hashing += 1;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else hashing -= 1;
  }
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, ARGON2_PARAMS));
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await limited(() => verify(passwordHash, password));
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | null = null;

/** The hash unknown emails are verified against; made once, at start-up (see prepareDummyHash). */
function dummy(): Promise<string> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}-${Date.now()}`);
  return dummyHash;
}

/** Computes the dummy hash ahead of the first login, so that login costs what every other does. */
export async function prepareDummyHash(): Promise<void> {
  await dummy();
}

/**
 * Verifies against a hash of a random password: what a login for an unknown email spends, so it
 * takes as long as a wrong password for a known one (no enumeration by timing).
 */
export async function dummyVerify(password: string): Promise<false> {
  await verifyPassword(await dummy(), password);
  return false;
}

const COMMON = new Set(COMMON_PASSWORDS);

/**
 * Why a password of acceptable length is refused, or null. No composition rules (NIST 800-63B):
 * only passwords attackers try first: the common-password list, one repeated character, the
 * user's own email or name.
 */
export function passwordWeakness(
  password: string,
  context: { email?: string; name?: string } = {},
): string | null {
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'This password is one of the most commonly used; choose another';
  if (new Set(lower).size <= 2) return 'This password repeats too few characters; choose another';
  const email = context.email?.toLowerCase();
  if (email && (lower === email || lower === email.split('@')[0]))
    return 'The password must not be your email';
  if (context.name && lower === context.name.toLowerCase()) return 'The password must not be your name';
  return null;
}
