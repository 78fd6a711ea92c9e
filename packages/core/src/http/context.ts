import type { ResolvedRetryOptions } from './retry.js';
import type {
  AuthContext,
  AuthStrategy,
  HttpEvent,
  HttpEventListener,
  HttpRequestOptions,
  StreamResponse,
} from './types.js';

/** A client's options, resolved (defaults applied, the base URL normalised). */
export interface ResolvedOptions {
  baseUrl: string;
  service: string;
  baseUrlSetting: string | undefined;
  auth: AuthStrategy | undefined;
  headers: Readonly<Record<string, string>>;
  timeout: number | false;
  maxRetries: number;
  retry: ResolvedRetryOptions;
  fetch: typeof globalThis.fetch | undefined;
  transferFetch: typeof globalThis.fetch | undefined;
  downloadFetch: typeof globalThis.fetch | undefined;
  userAgent: string;
  trustedOrigins: ReadonlySet<string>;
  crossOriginRedirects: 'follow-without-credentials' | 'error';
  maxBodyBytes: number;
}

/** What one attempt needs of its client (the `Client` class): its options, its events and its credentials. */
export interface ClientContext {
  readonly settings: ResolvedOptions;
  emit(event: HttpEvent): void;
  /** The context the auth strategy runs in (a client without credentials, the signal, the event sink). */
  authContext(signal: AbortSignal | undefined): AuthContext;
  /** Whether credentials and secret headers may go to `url` (the client's own origin, or a trusted one). */
  isTrusted(url: URL): boolean;
}

/** The outcome of one attempt (after its redirects): a buffered body, or a stream for the caller to read. */
export interface AttemptResult {
  status: number;
  statusText: string;
  headers: Headers;
  url: string;
  /** Buffered body (always for errors and buffer mode). */
  bytes?: Uint8Array;
  stream?: StreamResponse;
  generation: unknown;
  authApplied: boolean;
}

export function safeCall(listener: HttpEventListener, event: HttpEvent): void {
  try {
    listener(event);
  } catch {
    // A listener's failure must never break a request.
  }
}

export function isAccepted(status: number, options: HttpRequestOptions): boolean {
  const accept = options.acceptStatus;
  if (!accept) return false;
  return typeof accept === 'function' ? accept(status) : accept.includes(status);
}
