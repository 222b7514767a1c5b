import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config';
import { AppError } from '../errors';
import { ProblemRef } from './schemas';
import type { Platform } from '../platform';
import { rateLimitHeaders, type LimitCheck, type LimitResult, type RateLimiter } from '../rate-limit';

const MINUTE = 60_000;

/** Route groups (by path prefix) and how each is limited; the first match wins. */
type Group = 'exempt' | 'webhooks' | 'api';
const GROUPS: [prefix: string, group: Group][] = [
  // Probes and scrapes come from the platform itself, at its own pace.
  ['/health', 'exempt'],
  ['/metrics', 'exempt'],
  // Gateways post from a few addresses in bursts; they are limited per address, apart from users.
  ['/webhooks', 'webhooks'],
];

function groupOf(url: string): Group {
  for (const [prefix, group] of GROUPS) if (url === prefix || url.startsWith(prefix + '/')) return group;
  return 'api';
}

const perMinute = (key: string, limit: number): LimitCheck => ({ key, options: { limit, windowMs: MINUTE } });

/** The limits a request is counted against: its user and tenant when authenticated, else its IP. */
function checksOf(request: FastifyRequest, group: Group, config: Config): LimitCheck[] {
  if (group === 'webhooks') return [perMinute(`webhooks:ip:${request.ip}`, config.RATE_LIMIT_IP_PER_MINUTE)];
  const principal = request.principalOrNull;
  if (!principal) return [perMinute(`ip:${request.ip}`, config.RATE_LIMIT_IP_PER_MINUTE)];
  return [
    perMinute(`user:${principal.userId}`, config.RATE_LIMIT_USER_PER_MINUTE),
    perMinute(`tenant:${principal.tenantId}`, config.RATE_LIMIT_TENANT_PER_MINUTE),
  ];
}

/**
 * Request limits for every API route group, on the shared GCRA store (Redis when configured, so
 * they hold across processes). Runs after the auth guard, so an authenticated request counts
 * against its user and its tenant (in one step: a request its tenant's limit refuses spends nothing
 * of its user's), an anonymous one against its IP. Every limited answer carries
 * RateLimit-Limit/-Remaining/-Reset (of the tightest limit); a refusal is 429 `rate_limited`
 * with Retry-After. The auth routes add their own, stricter limits (failed logins, registrations).
 */
export function registerRateLimits(app: FastifyInstance, platform: Platform, limiter: RateLimiter): void {
  const config = platform.config;
  // Every limited route may answer 429: its documented answers say so.
  app.addHook('onRoute', (route) => {
    const responses = route.schema?.response as Record<string, unknown> | undefined;
    if (responses && groupOf(route.url) !== 'exempt') responses[429] ??= ProblemRef;
  });
  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    if (!url) return;
    const group = groupOf(url);
    if (group === 'exempt') return;
    void reply.headers(enforce(await limiter.consumeAll(checksOf(request, group, config))));
  });
}

/** The headers of the tightest limit; throws 429 `rate_limited` when one of them refused. */
function enforce(results: LimitResult[]): Record<string, string> {
  const refused = results.find((result) => !result.allowed);
  const tightest = refused ?? results.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  const headers = rateLimitHeaders(tightest);
  if (refused) {
    const seconds = Number(headers['retry-after']);
    throw new AppError('rate_limited', `Too many requests; retry in ${seconds} s`, {
      headers,
      extensions: { retry_after: seconds },
    });
  }
  return headers;
}

/**
 * For the auth guard: a request refused for its token (none, or not valid) counts against its
 * IP's limit, so guessing tokens is limited like any anonymous traffic; past the limit the answer
 * is 429 instead of 401.
 */
export function limitRefusedRequests(
  platform: Platform,
  limiter: RateLimiter,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    const headers = enforce([
      await limiter.consume(`ip:${request.ip}`, {
        limit: platform.config.RATE_LIMIT_IP_PER_MINUTE,
        windowMs: MINUTE,
      }),
    ]);
    void reply.headers(headers);
  };
}
