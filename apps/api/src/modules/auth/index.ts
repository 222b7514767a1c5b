import type { ModuleInstance } from '..';
import { Mailer } from '../../platform/mail';
import type { Platform } from '../../platform/platform';
import { createRateLimiter, type RateLimiter } from '../../platform/rate-limit';
import { SessionRevocationSignal } from '../../platform/session-revocations';
import { AccessTokens } from './access-tokens';
import { SigningKeys } from './keys';
import { prepareDummyHash } from './passwords';
import { createRevocationList, MemoryRevocationList } from './revocation';
import { authRoutes } from './routes';
import { AuthService } from './service';

export { AuthService, type ClientInfo } from './service';
export { AccessTokens } from './access-tokens';
export type { SigningKeys } from './keys';
export { Email, Password, PendingInvitationSchema, RoleList, type PendingInvitation } from './schemas';
export { hashPassword, verifyPassword, passwordWeakness, ARGON2_PARAMS } from './passwords';

export interface AuthModule extends ModuleInstance {
  name: 'auth';
  service: AuthService;
  /** The access-token verifier the platform's auth guard uses. */
  verifier: AccessTokens;
  mailer: Mailer;
  limiter: RateLimiter;
  /** The signing keys (rotation: `keys.rotate()` or `service.rotateSigningKey()`). */
  keys: SigningKeys;
  /** Announces revoked sessions (realtime listens). */
  sessionRevocations: SessionRevocationSignal;
}

/**
 * The auth module: identity, sessions, access and refresh tokens, signing keys, mail. The signing
 * key is loaded (or generated, on first start) when the routes are registered.
 */
export function createAuthModule(platform: Platform): AuthModule {
  const { config, logger } = platform;
  const keys = new SigningKeys(platform.db, platform.secrets, logger, config.ACCESS_TOKEN_TTL);
  // Revocations are also announced to every API process, so realtime closes the sockets at once.
  const sessionRevocations = new SessionRevocationSignal(platform.redis, config.REDIS_KEY_PREFIX, logger);
  const revocationList = createRevocationList(
    platform.redis,
    config.REDIS_KEY_PREFIX,
    config.ACCESS_TOKEN_TTL,
  );
  const revocations = sessionRevocations.announcing(revocationList);
  const accessTokens = new AccessTokens(keys, revocations, {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL,
  });
  const limiter = createRateLimiter(platform.redis, config.REDIS_KEY_PREFIX);
  const mailer = new Mailer(config, logger);
  const service = new AuthService({
    db: platform.db,
    config,
    logger,
    secrets: platform.secrets,
    keys,
    accessTokens,
    revocations,
    limiter,
    mailer,
  });
  const routes = authRoutes(service);
  return {
    name: 'auth',
    service,
    verifier: accessTokens,
    mailer,
    limiter,
    keys,
    sessionRevocations,
    routes: async (app) => {
      // An in-process list starts empty: a restart must not bring back the access tokens of
      // sessions logged out or revoked before it, still within their lifetime.
      const restored =
        revocationList instanceof MemoryRevocationList
          ? service.revokedSince(revocationList.horizon).then((revoked) => revocationList.restore(revoked))
          : undefined;
      await Promise.all([keys.init(), prepareDummyHash(), restored]);
      app.addHook('onClose', async () => mailer.close());
      await app.register(routes);
    },
  };
}
