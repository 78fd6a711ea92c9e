/**
 * Secret redaction. Every message, URL, header set and serialised error that leaves core passes through here.
 *
 * Two mechanisms work together:
 * - by *name*: query parameters and headers whose names look secret (token, key, password, signature, …);
 * - by *value*: auth strategies register the literal secrets they hold (a token, a password, an API key), and
 *   every occurrence of those values in any string is replaced, wherever it hides (a body excerpt, a cause's
 *   message, a URL path).
 *
 * The value registry is process-wide and shared between copies of this package (it lives on `globalThis`
 * under a `Symbol.for` key), so an error created by one copy is still cleaned by another.
 */

export const REDACTED = '[REDACTED]';

const SECRET_NAME =
  /(^|[-_.])(token|access[-_]?token|auth|authorization|api[-_]?key|apikey|key|password|passwd|pwd|secret|signature|sig|credential|credentials|session|sessionid|csrf|csrftoken|upload[-_]?id|x-goog-signature|x-goog-credential|x-amz-signature|x-amz-credential|x-amz-security-token)($|[-_.])|token|password|passwd|secret|signature|api[-_]?key|credential/i;

const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-csrftoken',
  'x-csrf-token',
  'icsd-auth-token',
  'x-api-key',
  'x-goog-hash',
]);

/** Minimum length of a registered secret value; shorter values would redact ordinary words. */
const MIN_SECRET_LENGTH = 4;
const MAX_SECRETS = 2048;

interface SecretRegistry {
  values: Set<string>;
  names: Set<string>;
}

const REGISTRY_KEY = Symbol.for('@sciport/core.secrets');

function registry(): SecretRegistry {
  const g = globalThis as typeof globalThis & { [REGISTRY_KEY]?: SecretRegistry };
  let r = g[REGISTRY_KEY];
  if (!r) {
    r = { values: new Set(), names: new Set() };
    g[REGISTRY_KEY] = r;
  }
  return r;
}

/**
 * Registers a secret value so that it is redacted from every string core produces from now on.
 * Also registers its URL-encoded form. Values shorter than 4 characters are ignored.
 */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  const r = registry();
  for (const v of new Set([value, encodeURIComponent(value), formEncode(value)])) {
    if (r.values.has(v)) {
      // refresh insertion order so that recent secrets survive eviction
      r.values.delete(v);
    }
    r.values.add(v);
  }
  while (r.values.size > MAX_SECRETS) {
    const oldest = r.values.values().next().value;
    if (oldest === undefined) break;
    r.values.delete(oldest);
  }
}

/** Registers extra query-parameter or header names to treat as secret (for example a capability parameter). */
export function registerSecretName(name: string): void {
  registry().names.add(name.toLowerCase());
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** True when a query-parameter or header name looks like it carries a secret. */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADERS.has(lower) || registry().names.has(lower) || SECRET_NAME.test(lower);
}

/** Replaces every registered secret value in `text`. */
export function redactText(text: string): string {
  const { values } = registry();
  if (values.size === 0 || text.length === 0) return redactInlineCredentials(text);
  let out = text;
  // Longest first, so that a secret containing another is replaced whole.
  const sorted = [...values].sort((a, b) => b.length - a.length);
  for (const secret of sorted) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return redactInlineCredentials(out);
}

/** `Bearer xyz`, `Cookie: a=b` and `token=xyz` patterns that leak through free text. */
function redactInlineCredentials(text: string): string {
  return text
    .replace(/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}/g, `$1 ${REDACTED}`)
    .replace(/\b(sessionid|csrftoken|JSESSIONID)=([^;\s&"']+)/gi, `$1=${REDACTED}`)
    .replace(/\/\/([^/@\s:]+):([^/@\s]+)@/g, `//$1:${REDACTED}@`);
}

/**
 * Redacts a URL: secret-looking query values, user info, and registered secret values anywhere in it.
 * Accepts strings that are not valid URLs (they are treated as free text).
 */
export function redactUrl(url: string | URL): string {
  const raw = String(url);
  // Fast path for the common case (and for long URLs of hundreds of parameters): nothing to hide.
  if (!mayHoldSecret(raw)) return raw;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return redactText(raw);
  }
  if (parsed.password) parsed.password = REDACTED;
  const params = parsed.searchParams;
  let touched = false;
  const next = new URLSearchParams();
  for (const [name, value] of params) {
    if (isSecretName(name) && value !== '') {
      next.append(name, REDACTED);
      touched = true;
    } else {
      next.append(name, value);
    }
  }
  if (touched) parsed.search = next.toString();
  // URLSearchParams encodes the brackets; keep the marker readable.
  return redactText(parsed.toString().replace(/%5BREDACTED%5D/g, REDACTED));
}

/** A cheap pre-check: user info, a secret-looking parameter name, or a registered secret in the text. */
function mayHoldSecret(raw: string): boolean {
  if (/\/\/[^/?#]*@/.test(raw)) return true;
  const q = raw.indexOf('?');
  // Only when some word of a secret-looking name occurs at all are the parameters looked at one by one.
  if (q !== -1 && (SECRET_WORD.test(raw.slice(q)) || registry().names.size > 0)) {
    for (const pair of raw.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      if (name !== '' && isSecretName(safeDecode(name))) return true;
    }
  }
  for (const secret of registry().values) if (raw.includes(secret)) return true;
  return INLINE_CREDENTIAL.test(raw);
}

const SECRET_WORD = /token|key|pass|pwd|secret|sig|auth|session|csrf|upload|credential|x-goog|x-amz/i;
const INLINE_CREDENTIAL = /\b(Bearer|Basic|Token)\s|\b(sessionid|csrftoken|JSESSIONID)=/i;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

export type HeaderLike = Headers | Record<string, string | string[] | undefined> | Iterable<[string, string]>;

/** Returns a plain object copy of `headers` with secret values masked. */
export function redactHeaders(headers: HeaderLike | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  const entries: Iterable<[string, string | string[] | undefined]> =
    headers instanceof Headers
      ? headers.entries()
      : Symbol.iterator in headers
        ? (headers as Iterable<[string, string]>)
        : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    const joined = Array.isArray(value) ? value.join(', ') : value;
    out[name.toLowerCase()] = isSecretName(name) ? REDACTED : redactText(joined);
  }
  return out;
}

/**
 * Deep-redacts a JSON-like value: keys that look secret are masked, strings are cleaned of registered secrets.
 * Cycles are cut. Used by `SciportError.toJSON` and by anything that logs structured data.
 */
export function redactValue(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, seen));
  if (value instanceof URL) return redactUrl(value);
  if (value instanceof Headers) return redactHeaders(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretName(k) && v !== null && v !== undefined && v !== '' ? REDACTED : redactValue(v, seen);
  }
  return out;
}

/** Masks a secret for display. Nothing of the value, not even its length, is shown. */
export function maskSecret(value: string | undefined): string {
  return value ? '********' : '';
}
