import type { Options } from '@node-rs/argon2';
import { availableParallelism } from 'node:os';
import { COMMON_PASSWORDS } from './common-passwords';
import { HashingRefused, HashingThreads } from './hashing-threads';

/**
 * Password storage: argon2id (OWASP's minimum m = 19 MiB, t = 2, p = 1). The parameters are kept in
 * each PHC hash string, so raising them later still verifies old hashes. Hashes run on threads of
 * their own (HashingThreads): the event loop keeps serving while one is computed.
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
 * Hashes in flight at most: one more than the cores, so that no core waits while the event loop
 * hands a finished hash back and the next one over; at most 8, as each holds 19 MiB.
 */
const HASHING_THREADS = Math.min(availableParallelism() + 1, 8);

/** Below request handling (0): the scheduler runs the event loop and PostgreSQL before a hash. */
const HASHING_NICE = 10;

const threads = new HashingThreads(HASHING_THREADS, HASHING_NICE);

export function hashPassword(password: string): Promise<string> {
  return threads.hash(password, ARGON2_PARAMS);
}

/** False for a stored hash argon2 cannot read; a hashing thread that died is an error, not a "no". */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await threads.verify(passwordHash, password);
  } catch (error) {
    if (error instanceof HashingRefused) return false;
    throw error;
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
 * Why a password is refused, or null. Its length first (the routes' schemas check it too, but the
 * operator's commands call the service directly), in characters as JSON Schema counts them. No
 * composition rules (NIST 800-63B): only passwords attackers try first: the common-password list,
 * one repeated character, the user's own email or name.
 */
export function passwordWeakness(
  password: string,
  context: { email?: string; name?: string } = {},
): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'This password is one of the most commonly used; choose another';
  if (new Set(lower).size <= 2) return 'This password repeats too few characters; choose another';
  const email = context.email?.toLowerCase();
  if (email && (lower === email || lower === email.split('@')[0]))
    return 'The password must not be your email';
  if (context.name && lower === context.name.toLowerCase()) return 'The password must not be your name';
  return null;
}
