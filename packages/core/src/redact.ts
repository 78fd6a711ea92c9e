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
/** How many values that servers handed out (cookies, upload URLs) are remembered, newest kept. */
const MAX_TRANSIENT = 2048;

interface SecretRegistry {
  /** The user's own credentials and the tokens they buy: never evicted. */
  values: Set<string>;
  /** Values servers handed out: the newest {@link MAX_TRANSIENT} are kept. */
  transient: Set<string>;
  names: Set<string>;
  /** Every value, longest first (so that a secret containing another is replaced whole); rebuilt on change. */
  sorted: string[] | undefined;
}

const REGISTRY_KEY = Symbol.for('@sciport/core.secrets.v2');

function registry(): SecretRegistry {
  const g = globalThis as typeof globalThis & { [REGISTRY_KEY]?: SecretRegistry };
  let r = g[REGISTRY_KEY];
  if (!r) {
    r = { values: new Set(), transient: new Set(), names: new Set(), sorted: undefined };
    g[REGISTRY_KEY] = r;
  }
  return r;
}

function sortedSecrets(r: SecretRegistry): string[] {
  if (!r.sorted) r.sorted = [...r.values, ...r.transient].sort((a, b) => b.length - a.length);
  return r.sorted;
}

/** Options of {@link registerSecret}. */
export interface RegisterSecretOptions {
  /**
   * A value a server handed out (a cookie it set, a signed upload URL), rather than the user's credential or a
   * token bought with it. Such values are kept in a bounded set, newest first, so that a server sending
   * thousands of them cannot grow memory without end; the user's own secrets are never evicted by them.
   */
  transient?: boolean;
}

/**
 * Every form `value` takes on the wire, so that a server echoing it back (a login page repeating the form, an
 * error quoting a header or a JSON body) is still caught: as is, percent-encoded (`encodeURIComponent`, and the
 * form encoding of `URLSearchParams`, which differs for `!'()*~` and spaces; with upper- and lower-case hex),
 * JSON-escaped, HTML-escaped and Base64 (a Basic credential, a cookie).
 */
export function secretEncodings(value: string): Set<string> {
  const out = new Set<string>([value]);
  const uri = encodeURIComponent(value);
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  for (const encoded of [uri, uri.replace(/%20/g, '+'), form, encodeURI(value)]) {
    out.add(encoded);
    out.add(encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  }
  out.add(JSON.stringify(value).slice(1, -1));
  // HTML escapes as template engines write them: quotes left alone, or as `&quot;`/`&#34;` and `&#39;`/`&#x27;`.
  const html = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  for (const dq of ['"', '&quot;', '&#34;']) {
    for (const sq of ["'", '&#39;', '&#x27;']) out.add(html.replace(/"/g, dq).replace(/'/g, sq));
  }
  const base64 = toBase64(value);
  if (base64 !== undefined && base64.length >= 8) out.add(base64.replace(/=+$/, ''));
  for (const v of out) if (v.length < MIN_SECRET_LENGTH) out.delete(v);
  return out;
}

function toBase64(value: string): string | undefined {
  const bytes = new TextEncoder().encode(value);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return typeof btoa === 'function' ? btoa(binary) : undefined;
}

/**
 * Registers a secret value so that it is redacted, in every encoding it may be sent in (see
 * {@link secretEncodings}), from every string core produces from now on. Values shorter than 4 characters are
 * ignored. The user's own secrets are kept for the life of the process; `transient` ones (set by servers) in a
 * bounded set.
 */
export function registerSecret(value: string | undefined | null, options: RegisterSecretOptions = {}): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  const r = registry();
  const encodings = secretEncodings(value);
  if (!options.transient) {
    for (const v of encodings) {
      if (r.values.has(v)) continue;
      r.values.add(v);
      r.transient.delete(v);
      r.sorted = undefined;
    }
    return;
  }
  for (const v of encodings) {
    if (r.values.has(v)) continue;
    // Refresh insertion order so that recent values survive eviction.
    r.transient.delete(v);
    r.transient.add(v);
    r.sorted = undefined;
  }
  while (r.transient.size > MAX_TRANSIENT) {
    const oldest = r.transient.values().next().value;
    if (oldest === undefined) break;
    r.transient.delete(oldest);
  }
}

/** Registers extra query-parameter or header names to treat as secret (for example a capability parameter). */
export function registerSecretName(name: string): void {
  registry().names.add(name.toLowerCase());
}

/** True when a query-parameter or header name looks like it carries a secret. */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADERS.has(lower) || registry().names.has(lower) || SECRET_NAME.test(lower);
}

/** Replaces every registered secret value in `text`. */
export function redactText(text: string): string {
  const r = registry();
  if ((r.values.size === 0 && r.transient.size === 0) || text.length === 0)
    return redactInlineCredentials(text);
  let out = text;
  for (const secret of sortedSecrets(r)) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return redactInlineCredentials(out);
}

/** `Bearer xyz`, `Cookie: a=b` and `token=xyz` patterns that leak through free text. */
function redactInlineCredentials(text: string): string {
  return (
    text
      .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/g, `$1 ${REDACTED}`)
      // DRF's `Token <40 hex digits>`; but "Token" also starts sentences ("Token verification failed", as Keycloak
      // puts it): a plain word without a digit, shorter than any such key, stays readable.
      .replace(/\bToken\s+([A-Za-z0-9._~+/=-]{6,})/g, (match, value: string) =>
        /\d/.test(value) || value.length >= 16 ? `Token ${REDACTED}` : match,
      )
      .replace(/\b(sessionid|csrftoken|JSESSIONID)=([^;\s&"']+)/gi, `$1=${REDACTED}`)
      .replace(/\/\/([^/@\s:]+):([^/@\s]+)@/g, `//$1:${REDACTED}@`)
  );
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
  for (const secret of sortedSecrets(registry())) if (raw.includes(secret)) return true;
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
