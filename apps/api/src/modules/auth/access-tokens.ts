import { permissionsOf, uuidv7, type Permission } from '@tessera/contracts';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { AppError } from '../../platform/errors';
import type { AccessTokenVerifier, Principal } from '../../platform/http/auth-guard';
import { SIGNING_ALG, type SigningKeys } from './keys';
import type { RevocationList } from './revocation';

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export interface AccessTokenSubject {
  userId: string;
  tenantId: string;
  email: string;
  roles: string[];
  sessionId: string;
}

/** The claims an access token carries, exactly the contract's names. */
interface AccessClaims extends JWTPayload {
  tenant_id: string;
  email: string;
  roles: string[];
  permissions: Permission[];
  session_id: string;
}

/** Checked tokens remembered at most (the oldest is forgotten first). */
const MAX_VERIFIED = 10_000;

const unauthenticated = (detail: string) =>
  new AppError('unauthenticated', detail, {
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
  });

/**
 * Issues and verifies access tokens: JWTs signed with EdDSA (Ed25519) under a `kid` from the
 * JWKS; verification pins the algorithm, the issuer and the audience, and refuses tokens whose
 * session was revoked (logout, password reset, removal) before they expire.
 */
export class AccessTokens implements AccessTokenVerifier {
  /**
   * Tokens whose signature and claims this process has checked, until they expire: the same token
   * comes with every request of a session, and checking an Ed25519 signature again each time was
   * most of an authenticated request's own work. Revocation is still asked on every request.
   */
  private readonly verified = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly revocations: RevocationList,
    private readonly options: AccessTokenOptions,
  ) {}

  /**
   * Signs an access token for the subject, valid for the configured lifetime but never past
   * `notAfter`, the end of its session: a session that expires takes its access tokens with it,
   * though the guard reads no database. Resolves to the token and its lifetime in seconds.
   */
  async issue(subject: AccessTokenSubject, notAfter: Date): Promise<{ token: string; expiresIn: number }> {
    const { kid, privateKey } = await this.keys.signingKey();
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = Math.max(
      issuedAt + 1,
      Math.min(issuedAt + this.options.ttlSeconds, Math.floor(notAfter.getTime() / 1000)),
    );
    const claims: Omit<AccessClaims, keyof JWTPayload> = {
      tenant_id: subject.tenantId,
      email: subject.email,
      roles: subject.roles,
      permissions: permissionsOf(subject.roles),
      session_id: subject.sessionId,
    };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' })
      .setSubject(subject.userId)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(uuidv7())
      .sign(privateKey);
    return { token, expiresIn: expiresAt - issuedAt };
  }

  async verify(token: string): Promise<Principal> {
    const principal = await this.authenticate(token);
    await this.ensureActive(principal);
    return principal;
  }

  async authenticate(token: string): Promise<Principal> {
    return this.checked(token) ?? (await this.check(token));
  }

  async ensureActive(principal: Principal): Promise<void> {
    let revoked: boolean;
    try {
      revoked = await this.revocations.isRevoked(principal.sessionId);
    } catch (error) {
      // Fail closed: without the revocation list a revoked token could pass.
      throw new AppError('service_unavailable', 'Sessions cannot be checked right now', { cause: error });
    }
    if (revoked) throw unauthenticated('The session has ended');
  }

  /** A token this process has already checked, while it has not expired. */
  private checked(token: string): Principal | undefined {
    const known = this.verified.get(token);
    if (!known) return undefined;
    if (known.expiresAt > Date.now()) return known.principal;
    this.verified.delete(token);
    return undefined;
  }

  /** Checks the signature and the claims, and remembers the outcome until the token expires. */
  private async check(token: string): Promise<Principal> {
    let payload: AccessClaims;
    try {
      const verified = await jwtVerify<AccessClaims>(
        token,
        async (header) => {
          if (!header.kid) throw unauthenticated('The access token names no key');
          const key = await this.keys.publicKey(header.kid);
          if (!key) throw unauthenticated('The access token was signed by an unknown key');
          return key;
        },
        {
          algorithms: [SIGNING_ALG],
          issuer: this.options.issuer,
          audience: this.options.audience,
          requiredClaims: ['sub', 'exp', 'iat', 'tenant_id', 'session_id'],
          typ: 'at+jwt',
        },
      );
      payload = verified.payload;
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired');
      if (error instanceof joseErrors.JOSEError) throw unauthenticated('The access token is not valid');
      throw error;
    }
    if (
      typeof payload.sub !== 'string' ||
      typeof payload.tenant_id !== 'string' ||
      typeof payload.session_id !== 'string' ||
      typeof payload.email !== 'string' ||
      !Array.isArray(payload.roles)
    ) {
      throw unauthenticated('The access token is not valid');
    }
    const principal: Principal = {
      userId: payload.sub,
      tenantId: payload.tenant_id,
      email: payload.email,
      roles: payload.roles,
      // Recomputed from the roles: the one role table decides, not the token's copy.
      permissions: permissionsOf(payload.roles),
      sessionId: payload.session_id,
    };
    // Shared by every request carrying this token: nothing may change it.
    Object.freeze(principal.roles);
    Object.freeze(principal.permissions);
    Object.freeze(principal);
    if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { principal, expiresAt: (payload.exp ?? 0) * 1000 });
    return principal;
  }
}
