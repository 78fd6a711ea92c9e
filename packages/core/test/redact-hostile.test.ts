import { describe, expect, it } from 'vitest';
import { createApiError } from '../src/errors.js';
import { cookieCsrfAuth, MAX_COOKIES } from '../src/http/auth.js';
import type { AuthContext } from '../src/http/types.js';
import { REDACTED, redactText, registerSecret, secretEncodings } from '../src/redact.js';

// Characters where encodeURIComponent and URLSearchParams disagree, a space, and HTML/JSON specials.
const PASSWORD = `pa ss!'()*~"<&>\\w0rd`;

describe('secrets echoed by a server, in any encoding', () => {
  registerSecret(PASSWORD);

  it('redacts the password in the form encoding a login POST sends (URLSearchParams), as a server echoes it', () => {
    const form = new URLSearchParams({ loginid: 'alice', password: PASSWORD }).toString();
    // What a login error page said back: the whole form, verbatim.
    const error = createApiError({
      status: 401,
      method: 'POST',
      url: 'https://icsd.test/ws/auth/login',
      service: 'icsd',
      body: `Authentication failed for ${form}`,
      detail: `Authentication failed for ${form}`,
    });
    const shown = `${error.message}\n${JSON.stringify(error.toJSON())}\n${error.stack}`;
    expect(shown).toContain(REDACTED);
    for (const encoded of secretEncodings(PASSWORD)) expect(shown).not.toContain(encoded);
    expect(shown).not.toContain('w0rd');
  });

  it.each([
    ['query (encodeURIComponent)', encodeURIComponent(PASSWORD)],
    ['form (URLSearchParams)', new URLSearchParams({ p: PASSWORD }).toString().slice(2)],
    [
      'lower-case percent escapes',
      encodeURIComponent(PASSWORD).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    ],
    ['JSON', JSON.stringify({ password: PASSWORD })],
    [
      'HTML',
      PASSWORD.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
    ],
    ['header / cookie (as is)', `Cookie: pw=${PASSWORD}`],
  ])('in %s', (_name, echoed) => {
    const out = redactText(`the server said: ${echoed}.`);
    expect(out).toContain(REDACTED);
    expect(out).not.toContain('w0rd');
  });

  it('a flood of values set by a server never evicts the user’s own secrets, and stays bounded itself', () => {
    const own = 'own-api-key-0123456789';
    registerSecret(own);
    const first = 'server-value-00000-xyz';
    registerSecret(first, { transient: true });
    for (let i = 1; i < 20_000; i++)
      registerSecret(`server-value-${String(i).padStart(5, '0')}-xyz`, { transient: true });
    expect(redactText(`echo ${own} and ${PASSWORD}`)).toBe(`echo ${REDACTED} and ${REDACTED}`);
    // The oldest server-set value was let go: the set of them is bounded.
    expect(redactText(first)).toBe(first);
    expect(redactText('server-value-19999-xyz')).toBe(REDACTED);
  });
});

describe('the cookie jar', () => {
  const ctx = {} as AuthContext;
  const flood = (count: number, prefix: string) => {
    const headers = new Headers();
    for (let i = 0; i < count; i++)
      headers.append('set-cookie', `${prefix}${i}=value-${prefix}-${i}-abcdef; Path=/`);
    return { status: 200, headers, url: 'https://fragalysis.test/api/' };
  };

  it('holds at most MAX_COOKIES cookies; a flood never pushes out the session cookie', () => {
    const session = 'sess-0123456789abcdef';
    const auth = cookieCsrfAuth({
      cookies: { sessionid: session },
      csrf: { sessionCookie: 'sessionid', bootstrapPath: '/' },
    });
    auth.observe?.(flood(5000, 'junk'), ctx);
    const jar = auth.cookies();
    expect(jar.size).toBe(MAX_COOKIES);
    expect(jar.get('sessionid')).toBe(session);
    // The session is still redacted after thousands of server-set values.
    for (let i = 0; i < 30; i++) auth.observe?.(flood(200, `more${i}x`), ctx);
    expect(redactText(`echo ${session}`)).toBe(`echo ${REDACTED}`);
  });

  it('ignores a Set-Cookie line longer than 4 KiB, and keeps updating cookies it already holds', () => {
    const auth = cookieCsrfAuth({ cookies: { sessionid: 'sess-abcdef012345' } });
    const headers = new Headers();
    headers.append('set-cookie', `huge=${'x'.repeat(5000)}`);
    headers.append('set-cookie', 'sessionid=sess-rotated-98765; Path=/');
    auth.observe?.({ status: 200, headers, url: 'https://fragalysis.test/' }, ctx);
    expect(auth.cookies().has('huge')).toBe(false);
    expect(auth.cookies().get('sessionid')).toBe('sess-rotated-98765');
    expect(redactText('sess-rotated-98765')).toBe(REDACTED);
  });
});
