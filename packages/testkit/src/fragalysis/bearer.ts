import { createHash } from 'node:crypto';

/**
 * OIDC bearer tokens of the simulated stack (spec §11.2, issue 14: xca): each user has one Keycloak access token
 * (a JWT-looking string derived from the seed and the user name); a token the test expired, or any other string,
 * is refused with DRF's 403 `{"detail": "Token verification failed"}`, and a malformed header with 403
 * `Invalid "bearer" header: …`. A header of another scheme is not this authenticator's (ignored).
 */

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** The access token of `username` on a simulator seeded with `seed`. */
export function accessTokenOf(seed: number, username: string): string {
  const head = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: `sim-${seed}` }));
  const claims = base64url(
    JSON.stringify({ iss: 'https://keycloak.example.org/auth/realms/xchem', preferred_username: username }),
  );
  const signature = createHash('sha256').update(`fragalysis-sim|${seed}|${username}`).digest('base64url');
  return `${head}.${claims}.${signature}`;
}

/** Access tokens expired by the test (`expireAccessToken`), per simulator state. */
const expiredTokens = new WeakMap<object, Set<string>>();

/** The expired access tokens of a simulator's state. */
export function expiredAccessTokens(state: object): Set<string> {
  let set = expiredTokens.get(state);
  if (!set) {
    set = new Set();
    expiredTokens.set(state, set);
  }
  return set;
}

/** What a request's `Authorization` header says: a user, a refusal (the 403 detail), or nothing of ours. */
export type BearerVerdict<U> = { user: U } | { refused: string } | undefined;

/** Reads a bearer header as mozilla-django-oidc's DRF authenticator does (split on whitespace). */
export function readBearer<U extends { username: string }>(
  header: string | null,
  users: readonly U[],
  seed: number,
  expired: ReadonlySet<string>,
): BearerVerdict<U> {
  if (header === null) return undefined;
  const parts = header.trim().split(/\s+/).filter(Boolean);
  if (parts[0]?.toLowerCase() !== 'bearer') return undefined;
  if (parts.length === 1) return { refused: 'Invalid "bearer" header: No credentials provided.' };
  if (parts.length > 2) {
    return { refused: 'Invalid "bearer" header: Credentials string should not contain spaces.' };
  }
  const token = parts[1] as string;
  if (expired.has(token)) return { refused: 'Token verification failed' };
  const user = users.find((u) => accessTokenOf(seed, u.username) === token);
  return user ? { user } : { refused: 'Token verification failed' };
}
