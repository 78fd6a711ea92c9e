import type { Random } from '../../random.js';
import { endpoint, type IcsdRoutes, methodNotAllowed, text } from '../state.js';

/** A 401 refusal of a login: a 104-byte message, like the real service's (spec §3.1). */
const LOGIN_FAILED =
  'Authentication failed: the login id or the password is incorrect, or the account cannot use the ICSD API';

function base64url(random: Random, bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = random.int(0, 255);
  return buffer.toString('base64url');
}

function hex(random: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += random.int(0, 15).toString(16);
  return out.toUpperCase();
}

/** `POST /auth/login` (form `loginid`, `password`) and `GET /auth/logout` (spec §3). */
export const authRoutes: IcsdRoutes = (sim, mount) => {
  const login = async (request: Request): Promise<Response> => {
    if (request.method !== 'POST') return methodNotAllowed('POST');
    let form: URLSearchParams;
    try {
      const type = request.headers.get('content-type') ?? '';
      if (type.toLowerCase().includes('multipart/form-data')) {
        const data = await request.formData();
        form = new URLSearchParams();
        for (const [name, value] of data) if (typeof value === 'string') form.append(name, value);
      } else {
        form = new URLSearchParams(await request.text());
      }
    } catch {
      form = new URLSearchParams();
    }
    const loginid = form.get('loginid') ?? '';
    const password = form.get('password');
    if (
      !Object.hasOwn(sim.credentials, loginid) ||
      password === null ||
      sim.credentials[loginid] !== password
    ) {
      sim.stats.failedLogins += 1;
      return text(401, LOGIN_FAILED);
    }
    sim.purgeExpired();
    if (sim.sessionLimit !== null) {
      let live = 0;
      for (const session of sim.sessions.values()) if (session.loginid === loginid) live += 1;
      if (live >= sim.sessionLimit) {
        sim.stats.refusedLogins += 1;
        return text(
          403,
          `Forbidden: the account already has ${live} open session${live === 1 ? '' : 's'}. ` +
            'Close all other sessions (log out) or wait until they expire.',
        );
      }
    }
    const token = base64url(sim.tokenRandom, 24);
    const jsessionid = hex(sim.tokenRandom, 32);
    sim.sessions.set(token, { loginid, expiresAt: sim.now() + sim.tokenLifetimeMs, cifs: 0 });
    sim.stats.logins += 1;
    return text(200, 'Authentication successful', [
      ['icsd-auth-token', token],
      ['set-cookie', `JSESSIONID=${jsessionid}; Path=/; HttpOnly`],
      ['set-cookie', 'ICSDCHECK=1; Path=/'],
      ['set-cookie', `FIZ-Cookie=${hex(sim.tokenRandom, 16).toLowerCase()}; Path=/`],
    ]);
  };

  const logout = (request: Request): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = sim.authenticate(request);
    if (session instanceof Response) return session;
    sim.sessions.delete(request.headers.get('icsd-auth-token')!.trim());
    sim.stats.logouts += 1;
    return text(200, 'Logout successful');
  };

  return [
    endpoint(sim, mount, '/auth/login', 'auth/login', login),
    endpoint(sim, mount, '/auth/logout', 'auth/logout', logout),
  ];
};
