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
  constructor(
    private readonly keys: SigningKeys,
    private readonly revocations: RevocationList,
    private readonly options: AccessTokenOptions,
  ) {}

  async issue(subject: AccessTokenSubject): Promise<string> {
    const { kid, privateKey } = await this.keys.signingKey();
    const claims: Omit<AccessClaims, keyof JWTPayload> = {
      tenant_id: subject.tenantId,
      email: subject.email,
      roles: subject.roles,
      permissions: permissionsOf(subject.roles),
      session_id: subject.sessionId,
    };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'at+jwt' })
      .setSubject(subject.userId)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt()
      .setExpirationTime(`${this.options.ttlSeconds}s`)
      .setJti(uuidv7())
      .sign(privateKey);
  }

  async verify(token: string): Promise<Principal> {
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
    let revoked: boolean;
    try {
      revoked = await this.revocations.isRevoked(payload.session_id);
    } catch (error) {
      // Fail closed: without the revocation list a revoked token could pass.
      throw new AppError('service_unavailable', 'Sessions cannot be checked right now', { cause: error });
    }
    if (revoked) throw unauthenticated('The session has ended');
    return {
      userId: payload.sub,
      tenantId: payload.tenant_id,
      email: payload.email,
      roles: payload.roles,
      // Recomputed from the roles: the one role table decides, not the token's copy.
      permissions: permissionsOf(payload.roles),
      sessionId: payload.session_id,
    };
  }
}
