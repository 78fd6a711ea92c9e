import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ApiError,
  AuthenticationError,
  ConnectionError,
  createApiError,
  NotFoundError,
  RateLimitError,
  SciportError,
  ServerError,
  TimeoutError,
  toSciportError,
  UsageError,
} from '../src/errors.js';
import {
  maskSecret,
  REDACTED,
  redactHeaders,
  redactText,
  redactUrl,
  redactValue,
  registerSecret,
} from '../src/redact.js';

// The built package, as a second copy of the error classes (what a dual install or a bundled CLI gives).
// Imported by path at run time: `pnpm test` builds before testing, and typecheck does not depend on dist.
const distEntry = new URL('../dist/index.js', import.meta.url).href;
const built = (await import(distEntry)) as typeof import('../src/index.js');

describe('error hierarchy', () => {
  it('maps statuses to classes', () => {
    const base = { method: 'GET', url: 'https://x.test/a', service: 'test' };
    expect(createApiError({ ...base, status: 400 }).code).toBe('bad_request');
    expect(createApiError({ ...base, status: 422 }).code).toBe('bad_request');
    expect(createApiError({ ...base, status: 401 })).toBeInstanceOf(AuthenticationError);
    expect(createApiError({ ...base, status: 403 }).code).toBe('permission_denied');
    expect(createApiError({ ...base, status: 404 })).toBeInstanceOf(NotFoundError);
    expect(createApiError({ ...base, status: 409 }).code).toBe('conflict');
    const rl = createApiError({ ...base, status: 429, retryAfterMs: 1500 });
    expect(rl).toBeInstanceOf(RateLimitError);
    expect((rl as RateLimitError).retryAfterMs).toBe(1500);
    expect(createApiError({ ...base, status: 503 })).toBeInstanceOf(ServerError);
    expect(createApiError({ ...base, status: 418 }).constructor).toBe(ApiError);
  });

  it('keeps the chain: a NotFoundError is an ApiError and a SciportError, not a ConnectionError', () => {
    const e = createApiError({ method: 'GET', url: 'https://x.test/a', service: 't', status: 404 });
    expect(NotFoundError.isInstance(e)).toBe(true);
    expect(ApiError.isInstance(e)).toBe(true);
    expect(SciportError.isInstance(e)).toBe(true);
    expect(ConnectionError.isInstance(e)).toBe(false);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('NotFoundError');
    const t = new TimeoutError('slow');
    expect(ConnectionError.isInstance(t)).toBe(true);
    expect(t.status).toBe(0);
    expect(t.retryable).toBe(true);
  });

  it('is recognised across two copies of the package (built dist and sources)', () => {
    const fromDist = new built.NotFoundError({
      status: 404,
      method: 'GET',
      url: 'https://x.test/',
      service: 't',
    });
    expect(fromDist).toBeInstanceOf(NotFoundError);
    expect(NotFoundError.isInstance(fromDist)).toBe(true);
    expect(ApiError.isInstance(fromDist)).toBe(true);
    const fromSrc = new UsageError('bad');
    expect(fromSrc).toBeInstanceOf(built.UsageError);
    expect(built.SciportError.isInstance(fromSrc)).toBe(true);
    expect(built.ApiError.isInstance(fromSrc)).toBe(false);
  });

  it('builds a message with method, path, status and the server detail', () => {
    const e = createApiError({
      status: 404,
      statusText: 'Not Found',
      method: 'GET',
      url: 'https://api.test/v2/datasets/abc',
      service: 'crucible',
      detail: 'Dataset not found',
    });
    expect(e.message).toBe('crucible: GET /v2/datasets/abc failed with 404 Not Found: Dataset not found');
  });

  it('appends the hint to the message', () => {
    const e = new UsageError('No username', { hint: 'set ICSD_USERNAME' });
    expect(e.message).toBe('No username. set ICSD_USERNAME');
    expect(e.hint).toBe('set ICSD_USERNAME');
  });

  it('converts foreign errors', () => {
    expect(toSciportError(new DOMException('x', 'AbortError'))).toBeInstanceOf(AbortError);
    expect(toSciportError(new Error('boom')).message).toBe('boom');
    const own = new UsageError('x');
    expect(toSciportError(own)).toBe(own);
  });
});

describe('redaction', () => {
  it('redacts secret-looking query parameters and user info, keeping the rest', () => {
    const out = redactUrl(
      'https://u:pw123456@host.test/a?keyword=Li&api_key=abc123456&X-Goog-Signature=deadbeef99&token=t0k3n999&page=2',
    );
    expect(out).not.toContain('abc123456');
    expect(out).not.toContain('deadbeef99');
    expect(out).not.toContain('t0k3n999');
    expect(out).not.toContain('pw123456');
    expect(out).toContain('keyword=Li');
    expect(out).toContain('page=2');
    expect(out).toContain(`api_key=${REDACTED}`);
  });

  it('redacts registered secret values anywhere, in raw and URL-encoded form', () => {
    const secret = 'S3cr3t/v@lue+xyz';
    registerSecret(secret);
    expect(redactText(`body said ${secret} twice ${secret}`)).toBe(`body said ${REDACTED} twice ${REDACTED}`);
    expect(redactText(`q=${encodeURIComponent(secret)}`)).toBe(`q=${REDACTED}`);
    expect(redactUrl(`https://h.test/p/${encodeURIComponent(secret)}`)).not.toContain(
      encodeURIComponent(secret),
    );
  });

  it('masks secret headers', () => {
    const h = redactHeaders(
      new Headers({
        authorization: 'Bearer abcdefgh',
        cookie: 'sessionid=zzzzzzzz',
        'ICSD-Auth-Token': 'tttttttt',
        accept: 'x',
      }),
    );
    expect(h).toEqual({
      authorization: REDACTED,
      cookie: REDACTED,
      'icsd-auth-token': REDACTED,
      accept: 'x',
    });
  });

  it('redacts bearer tokens and session cookies in free text', () => {
    expect(redactText('Authorization: Bearer eyJhbGciOiJI.abc')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactText('Cookie: sessionid=abcdef123; csrftoken=qwerty99')).toBe(
      `Cookie: sessionid=${REDACTED}; csrftoken=${REDACTED}`,
    );
  });

  it('redacts DRF `Token` keys in free text but leaves prose starting with "Token" readable', () => {
    const key = '9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b';
    expect(redactText(`Authorization: Token ${key}`)).toBe(`Authorization: Token ${REDACTED}`);
    expect(redactText('Token abc123x was refused')).toBe(`Token ${REDACTED} was refused`);
    expect(redactText('Token verification failed')).toBe('Token verification failed');
    expect(redactText('Bearer abcdefgh')).toBe(`Bearer ${REDACTED}`);
  });

  it('deep-redacts values by key and by registered value', () => {
    registerSecret('hunter2hunter2');
    const out = redactValue({
      password: 'anything',
      nested: { note: 'pw is hunter2hunter2', apiKey: 'k' },
      list: [1, 'x'],
    });
    expect(out).toEqual({
      password: REDACTED,
      nested: { note: `pw is ${REDACTED}`, apiKey: REDACTED },
      list: [1, 'x'],
    });
  });

  it('never shows a masked secret, not even its length', () => {
    expect(maskSecret('a')).toBe(maskSecret('a-much-longer-secret-value'));
    expect(maskSecret(undefined)).toBe('');
  });

  it('keeps secrets out of error messages, stacks and JSON', () => {
    const secret = 'tok-9f8e7d6c5b4a';
    registerSecret(secret);
    const e = createApiError({
      status: 500,
      method: 'GET',
      url: `https://h.test/x?token=${secret}&q=1`,
      service: 't',
      body: `internal error for token ${secret}`,
      cause: new Error(`socket said ${secret}`),
    });
    const everything = [e.message, e.stack ?? '', JSON.stringify(e), String(e), e.url, e.body ?? ''].join(
      '\n',
    );
    expect(everything).not.toContain(secret);
    expect(JSON.stringify(e)).toContain(REDACTED);
  });
});
