import { redactText } from '../redact.js';

/**
 * What a network failure means for a user: which host could not be reached (the service's, or a proxy's), why
 * in plain words (a DNS lookup, a refused connection, a certificate, …), and where to look. Read from the
 * error's cause chain (`fetch failed` → the system error: `code`, `hostname`, `port`), never from its text
 * alone; no URL is quoted, only host names, so credentials in a URL or a proxy variable never show.
 */

/** The kinds of network failure a message tells apart. */
export type NetworkFailureKind =
  | 'dns'
  | 'refused'
  | 'unreachable'
  | 'connect-timeout'
  | 'certificate'
  | 'tls'
  | 'proxy'
  | 'reset'
  | 'closed'
  | 'other';

/** Kinds where the request never reached the server: sending it again cannot apply it twice. */
export const NOT_SENT_FAILURES: ReadonlySet<NetworkFailureKind> = new Set([
  'dns',
  'refused',
  'unreachable',
  'connect-timeout',
  'certificate',
  'tls',
  'proxy',
]);

export interface NetworkFailure {
  kind: NetworkFailureKind;
  /** The system's or undici's code (`ENOTFOUND`, `CERT_HAS_EXPIRED`, …), when there is one. */
  code: string | undefined;
  /** The host that failed: the service's, or the proxy's when `viaProxy`. */
  host: string;
  /** The failure was the proxy's: reaching it, or its answer to the tunnel request. */
  viaProxy: boolean;
  /** One sentence: `could not reach icsd.fiz-karlsruhe.de (DNS lookup failed; ENOTFOUND)`. */
  message: string;
  /** What to check, naming the setting of the base URL when the client gave it. */
  hint: string;
}

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']);
const CONNECT_TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const CLOSED = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TLS = new Set([
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
]);
const CERTIFICATE_WORDS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'a self-signed certificate is in its chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate could not be verified',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the issuer of its certificate is not trusted here',
  UNABLE_TO_GET_ISSUER_CERT: 'the issuer of its certificate is unknown',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for another host name',
  CERT_REVOKED: 'its certificate was revoked',
  CERT_UNTRUSTED: 'its certificate is not trusted',
};

interface Found {
  code: string | undefined;
  /** The host a DNS failure was about (`getaddrinfo ENOTFOUND <hostname>`). */
  hostname: string | undefined;
  /** The port a refused connection was to. */
  port: number | undefined;
  /** The status a proxy answered a tunnel request with. */
  proxyStatus: number | undefined;
}

/** The first system code in the cause chain, with the host or port it was about. */
function inspect(error: unknown): Found {
  const found: Found = { code: undefined, hostname: undefined, port: undefined, proxyStatus: undefined };
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 6; depth++) {
    const o = e as { code?: unknown; hostname?: unknown; port?: unknown };
    if (found.code === undefined && typeof o.code === 'string' && o.code !== 'UND_ERR_ABORTED') {
      found.code = o.code;
      if (typeof o.hostname === 'string') found.hostname = o.hostname;
      if (typeof o.port === 'number') found.port = o.port;
    }
    const status = /Proxy response \((\d{3})\)/i.exec(e.message)?.[1];
    if (status !== undefined && found.proxyStatus === undefined) found.proxyStatus = Number(status);
    e = (e as { cause?: unknown }).cause;
  }
  return found;
}

function portOf(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * Classifies a failure to get an HTTP answer from `url`: `undefined` when the cause chain holds nothing known
 * (the caller then keeps its general message). `setting` names where the base URL comes from
 * (`ICSD_BASE_URL`), for the hint.
 */
export function describeNetworkFailure(
  error: unknown,
  url: URL,
  setting?: string | undefined,
): NetworkFailure | undefined {
  const found = inspect(error);
  const code = found.code;
  const host = url.host;
  const orSetting = setting ? ` or ${setting}` : '';
  const proxyHint = 'Check the proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)';
  const make = (
    kind: NetworkFailureKind,
    message: string,
    hint: string,
    failedHost = host,
    viaProxy = false,
  ): NetworkFailure => ({
    kind,
    code,
    host: failedHost,
    viaProxy,
    message: redactText(message),
    hint: redactText(hint),
  });
  const tag = code ? `; ${code}` : '';

  if (found.proxyStatus !== undefined) {
    return make(
      'proxy',
      `the proxy refused to connect to ${host} (it answered ${found.proxyStatus}${found.proxyStatus === 407 ? ': proxy authentication required' : ''})`,
      `${proxyHint}: a proxy that needs a login takes it in the URL (http://user:password@proxy:port)`,
      host,
      true,
    );
  }
  if (code === undefined) return undefined;

  if (DNS.has(code)) {
    const other = found.hostname !== undefined && found.hostname.toLowerCase() !== url.hostname.toLowerCase();
    const why = code === 'EAI_AGAIN' ? 'DNS lookup failed for now' : 'DNS lookup failed';
    if (other) {
      return make(
        'proxy',
        `could not reach the proxy ${found.hostname} (${why}${tag})`,
        proxyHint,
        found.hostname as string,
        true,
      );
    }
    return make('dns', `could not reach ${host} (${why}${tag})`, `Check the network${orSetting}`);
  }
  if (code === 'ECONNREFUSED') {
    if (found.port !== undefined && found.port !== portOf(url)) {
      return make(
        'proxy',
        `could not reach the proxy on port ${found.port} (connection refused${tag})`,
        proxyHint,
        `port ${found.port}`,
        true,
      );
    }
    return make(
      'refused',
      `could not reach ${host} (connection refused: nothing listens on port ${portOf(url)}${tag})`,
      `Check that the service is running${setting ? `, and ${setting}` : ''}`,
    );
  }
  if (UNREACHABLE.has(code)) {
    return make(
      'unreachable',
      `could not reach ${host} (no route to it${tag})`,
      `Check the network (a VPN?)${orSetting}`,
    );
  }
  if (CONNECT_TIMEOUT.has(code)) {
    return make(
      'connect-timeout',
      `could not reach ${host} (the connection timed out${tag})`,
      `Check the network, a firewall or proxy${orSetting}`,
    );
  }
  const certificate = CERTIFICATE_WORDS[code];
  if (certificate !== undefined || /CERT/.test(code)) {
    return make(
      'certificate',
      `did not trust ${host}: ${certificate ?? 'its certificate was refused'} (${code})`,
      'If a company proxy or firewall inspects TLS, point NODE_EXTRA_CA_CERTS at its CA certificate' +
        (setting ? `; else check ${setting}` : ''),
    );
  }
  if (TLS.has(code) || code.startsWith('ERR_SSL_')) {
    return make(
      'tls',
      `the TLS handshake with ${host} failed (${code})`,
      url.protocol === 'https:'
        ? `Does the server speak plain http? Check the scheme${setting ? ` of ${setting}` : ''}`
        : `Check the network${orSetting}`,
    );
  }
  if (RESET.has(code)) {
    return make(
      'reset',
      `the connection to ${host} was reset (${code})`,
      'Check the network: a proxy or firewall may cut connections',
    );
  }
  if (CLOSED.has(code)) {
    return make(
      'closed',
      `${host} closed the connection without answering (${code})`,
      `Check the network${orSetting}`,
    );
  }
  return undefined;
}
