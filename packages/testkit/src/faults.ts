import { STATUS_CODES } from 'node:http';
import { HttpResponse, http, type RequestHandler } from 'msw';
import { createRandom, type Random } from './random.js';

/**
 * The kinds of fault a rule can inject:
 *
 * - `fail`: a 5xx answer (500 or 503 by default) instead of the handler's;
 * - `rate-limit`: a 429 answer, with `Retry-After` when the rule sets `retryAfter`;
 * - `truncate`: the handler's status and headers with the full `Content-Length`, then only the first half of
 *   the body before the connection closes (over real HTTP only);
 * - `reset`: the connection is reset (TCP RST) before any response.
 */
export type FaultKind = 'fail' | 'rate-limit' | 'truncate' | 'reset';

/** Which requests a {@link FaultRule} applies to. Omitted fields match everything. */
export interface FaultMatch {
  /** The request method, compared case-insensitively. */
  method?: string;
  /**
   * Matched against the URL pathname only (no query). A string matches exactly, or as a prefix when it ends
   * with `*` (`'/ws/cif/*'` matches `/ws/cif/1` and `/ws/cif/`); a RegExp is tested against the pathname.
   */
  path?: string | RegExp;
}

/**
 * A fault injection rule. Rules are evaluated in order for every request; the first rule that picks a fault
 * kind decides it, and the latencies of all matching rules that fire add up. Within one rule the kinds are
 * tried in the order reset, rate limit (`rateLimitEvery`, then `rateLimitRate`), fail, truncate.
 *
 * Decisions use a seeded generator, so a run is deterministic for a given seed and request order.
 *
 * @example
 * ```ts
 * // One 503 with Retry-After: 1 on the first CIF download, then normal answers.
 * const once: FaultRule = { match: { path: '/ws/cif/*' }, failRate: 1, failStatus: 503, retryAfter: 1, times: 1 };
 * // Every third search is rate limited; every response waits 20-50 ms.
 * const rules: FaultRule[] = [
 *   { match: { path: '/ws/search/*' }, rateLimitEvery: 3, retryAfter: 2 },
 *   { latencyMs: [20, 50] },
 * ];
 * ```
 */
export interface FaultRule {
  /** The requests this rule applies to; omitted: all requests. */
  match?: FaultMatch;
  /** Probability (0..1) of answering with a `failStatus` instead of calling the handler. */
  failRate?: number;
  /** The status (or statuses, one picked at random) of `fail` answers. Defaults to `[500, 503]`. */
  failStatus?: number | readonly number[];
  /** Probability (0..1) of answering 429. */
  rateLimitRate?: number;
  /** Every Nth request matching this rule (while the rule is active) is answered 429. */
  rateLimitEvery?: number;
  /**
   * Sent as `Retry-After` on 429 answers, and on 503 answers, when set: a number of seconds or an HTTP date
   * string (sent as given).
   */
  retryAfter?: number | string;
  /** Delay before the response headers (or before the fault), in ms: a fixed value or a `[min, max]` range. */
  latencyMs?: number | readonly [min: number, max: number];
  /**
   * Probability (0..1) of truncating the response: real status and headers with the full `Content-Length`,
   * then only the first half of the body, then the socket is destroyed. A client sees the response resolve
   * and reading its body fail. Ignored in-process by {@link faultHandlers}.
   */
  truncateRate?: number;
  /** Probability (0..1) of resetting the connection (TCP RST) before any response. */
  resetRate?: number;
  /**
   * The rule fires (injects its latency or a fault) at most this many times, then stops matching.
   * `{ failRate: 1, failStatus: 503, times: 1 }` gives one 503 and then normal answers.
   */
  times?: number;
}

/** What a {@link FaultInjector} decided for one request. */
export interface FaultDecision {
  /** The fault to inject, or `undefined` to answer normally. */
  kind?: FaultKind;
  /** The status to answer with, for `fail` and `rate-limit`. */
  status?: number;
  /** The `Retry-After` value to send, for `rate-limit` and 503 `fail` answers of rules that set one. */
  retryAfter?: string;
  /** The latency to inject before the response headers (or the reset); 0 when none. */
  latencyMs: number;
}

/** Options of {@link createFaultInjector}. */
export interface FaultInjectorOptions {
  /** Seed of the generator behind every random decision. Defaults to 1. */
  seed?: number;
  /**
   * Whether `truncateRate` is evaluated. When `false` (in-process use, where truncation is impossible)
   * truncation is never chosen and consumes no random number. Defaults to `true`.
   */
  truncation?: boolean;
}

/**
 * The decision engine behind fault injection, shared by the HTTP test server and {@link faultHandlers}, and
 * available to simulators that need the same behaviour.
 */
export interface FaultInjector {
  /** Decides the fault (if any) for the next request; call exactly once per request, in arrival order. */
  decide(method: string, path: string): FaultDecision;
  /**
   * Replaces the rules (`undefined` or `[]` removes them all), and restarts the sequence: `times` and
   * `rateLimitEvery` counters start again and the generator is re-seeded.
   *
   * @throws RangeError when a rule is invalid (a rate outside 0..1, a status outside 200..599, …).
   */
  setFaults(faults: FaultRule | readonly FaultRule[] | undefined): void;
}

interface RuleState {
  readonly rule: FaultRule;
  readonly failStatuses: readonly number[];
  readonly retryAfter: string | undefined;
  remaining: number;
  seen: number;
}

const DEFAULT_FAIL_STATUSES: readonly number[] = [500, 503];

function checkRate(value: number | undefined, name: string, index: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new RangeError(
      `Fault rule ${index}: ${name} must be a number between 0 and 1, got ${String(value)}`,
    );
  }
}

function checkCount(value: number | undefined, name: string, index: number, min: number): void {
  if (value === undefined) return;
  if (!(Number.isSafeInteger(value) && value >= min) && value !== Number.POSITIVE_INFINITY) {
    throw new RangeError(`Fault rule ${index}: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

function checkLatency(value: FaultRule['latencyMs'], index: number): void {
  if (value === undefined) return;
  const [min, max] = typeof value === 'number' ? [value, value] : value;
  if (!(Number.isFinite(min) && Number.isFinite(max) && min >= 0 && min <= max)) {
    throw new RangeError(
      `Fault rule ${index}: latencyMs must be a number >= 0 or a [min, max] range with 0 <= min <= max`,
    );
  }
}

function prepareRule(rule: FaultRule, index: number): RuleState {
  if (typeof rule !== 'object' || rule === null) {
    throw new TypeError(`Fault rule ${index} must be an object`);
  }
  checkRate(rule.failRate, 'failRate', index);
  checkRate(rule.rateLimitRate, 'rateLimitRate', index);
  checkRate(rule.truncateRate, 'truncateRate', index);
  checkRate(rule.resetRate, 'resetRate', index);
  checkCount(rule.rateLimitEvery, 'rateLimitEvery', index, 1);
  checkCount(rule.times, 'times', index, 0);
  checkLatency(rule.latencyMs, index);
  const failStatuses =
    rule.failStatus === undefined
      ? DEFAULT_FAIL_STATUSES
      : typeof rule.failStatus === 'number'
        ? [rule.failStatus]
        : [...rule.failStatus];
  if (failStatuses.length === 0 || !failStatuses.every((s) => Number.isInteger(s) && s >= 200 && s <= 599)) {
    throw new RangeError(`Fault rule ${index}: failStatus must be one or more statuses between 200 and 599`);
  }
  const { retryAfter } = rule;
  if (retryAfter !== undefined) {
    const ok =
      typeof retryAfter === 'number' ? retryAfter >= 0 && Number.isFinite(retryAfter) : retryAfter !== '';
    if (!ok) {
      throw new RangeError(`Fault rule ${index}: retryAfter must be seconds >= 0 or an HTTP date string`);
    }
  }
  return {
    rule,
    failStatuses,
    retryAfter: retryAfter === undefined ? undefined : String(retryAfter),
    remaining: rule.times ?? Number.POSITIVE_INFINITY,
    seen: 0,
  };
}

export function matches(match: FaultMatch | undefined, method: string, path: string): boolean {
  if (match === undefined) return true;
  if (match.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false;
  const pattern = match.path;
  if (pattern === undefined) return true;
  if (typeof pattern === 'string') {
    return pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
  }
  pattern.lastIndex = 0;
  return pattern.test(path);
}

function drawLatency(random: Random, latency: NonNullable<FaultRule['latencyMs']>): number {
  if (typeof latency === 'number') return latency;
  const [min, max] = latency;
  if (min === max) return min;
  return min + Math.round(random.next() * (max - min));
}

/**
 * Creates the decision engine used by the test server and {@link faultHandlers}.
 *
 * @param faults - The rules, evaluated in order for every request.
 * @throws RangeError when a rule is invalid.
 */
export function createFaultInjector(
  faults: FaultRule | readonly FaultRule[] | undefined,
  options: FaultInjectorOptions = {},
): FaultInjector {
  const { seed = 1, truncation = true } = options;
  let random = createRandom(seed);
  let states: RuleState[] = [];

  const setFaults = (next: FaultRule | readonly FaultRule[] | undefined): void => {
    const list: readonly FaultRule[] =
      next === undefined ? [] : Array.isArray(next) ? next : [next as FaultRule];
    states = list.map(prepareRule);
    random = createRandom(seed);
  };

  const decide = (method: string, path: string): FaultDecision => {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const state of states) {
      if (state.remaining <= 0) continue;
      const { rule } = state;
      if (!matches(rule.match, method, path)) continue;
      state.seen += 1;
      let fired = false;
      if (decision.kind === undefined) {
        if (rule.resetRate !== undefined && random.chance(rule.resetRate)) {
          decision.kind = 'reset';
        } else if (
          (rule.rateLimitEvery !== undefined && state.seen % rule.rateLimitEvery === 0) ||
          (rule.rateLimitRate !== undefined && random.chance(rule.rateLimitRate))
        ) {
          decision.kind = 'rate-limit';
          decision.status = 429;
          if (state.retryAfter !== undefined) decision.retryAfter = state.retryAfter;
        } else if (rule.failRate !== undefined && random.chance(rule.failRate)) {
          decision.kind = 'fail';
          decision.status = random.pick(state.failStatuses);
          if (decision.status === 503 && state.retryAfter !== undefined) {
            decision.retryAfter = state.retryAfter;
          }
        } else if (truncation && rule.truncateRate !== undefined && random.chance(rule.truncateRate)) {
          decision.kind = 'truncate';
        }
        fired = decision.kind !== undefined;
      }
      if (rule.latencyMs !== undefined) {
        decision.latencyMs += drawLatency(random, rule.latencyMs);
        fired = true;
      }
      if (fired) state.remaining -= 1;
    }
    return decision;
  };

  setFaults(faults);
  return { decide, setFaults };
}

/**
 * Builds the short `text/plain` answer of a `fail` or `rate-limit` decision (with `Retry-After` when the
 * decision carries one); `undefined` for other decisions.
 *
 * @internal
 */
export function faultResponse(decision: FaultDecision): Response | undefined {
  if ((decision.kind !== 'fail' && decision.kind !== 'rate-limit') || decision.status === undefined) {
    return undefined;
  }
  const headers = new Headers({ 'content-type': 'text/plain; charset=utf-8' });
  if (decision.retryAfter !== undefined) headers.set('retry-after', decision.retryAfter);
  const reason = STATUS_CODES[decision.status] ?? 'Error';
  return new Response(`${decision.status} ${reason} (injected fault)`, { status: decision.status, headers });
}

/**
 * Waits `ms` milliseconds; resolves early (without error) when `signal` aborts.
 *
 * @internal
 */
export function sleep(ms: number, signal?: AbortSignal, unref = false): Promise<void> {
  if (!(ms > 0) || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (unref) timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Options of {@link faultHandlers}. */
export interface FaultHandlersOptions {
  /** Seed of the generator behind every random decision. Defaults to 1. */
  seed?: number;
}

/**
 * msw handlers that inject faults in-process, for unit tests with `setupServer` from `msw/node`. Put them
 * *first*, before the service handlers (or add them with `server.use(...)`, which prepends):
 *
 * ```ts
 * const server = setupServer(...faultHandlers({ failRate: 1, failStatus: 503, times: 1 }), ...icsdHandlers);
 * server.listen({ onUnhandledRequest: 'error' });
 * ```
 *
 * - `fail` and `rate-limit` answer with the same short `text/plain` responses as the test server;
 * - `reset` answers `HttpResponse.error()` (the client's `fetch` rejects with a `TypeError`);
 * - latency delays the request, then it falls through to the next handler (or its fault answer);
 * - truncation cannot be done in-process: `truncateRate` is ignored (it consumes no random number, so a seed
 *   gives a different sequence here than over HTTP when rules use it). Use `startTestServer` for it.
 *
 * The handlers only match requests they inject a fault into, so `onUnhandledRequest: 'error'` still reports
 * requests no service handler answers (an msw handler that matches and then falls through would turn them
 * into silent passthrough requests).
 *
 * @throws RangeError when a rule is invalid.
 */
export function faultHandlers(
  faults: FaultRule | readonly FaultRule[],
  options: FaultHandlersOptions = {},
): RequestHandler[] {
  const injector = createFaultInjector(faults, {
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    truncation: false,
  });
  const decisions = new WeakMap<Request, FaultDecision>();

  const handler = http.all(
    async ({ request }) => {
      const decision = injector.decide(request.method, new URL(request.url).pathname);
      await sleep(decision.latencyMs, request.signal);
      if (decision.kind === undefined || decision.kind === 'truncate') return false;
      decisions.set(request, decision);
      return true;
    },
    ({ request }) => {
      const decision = decisions.get(request);
      decisions.delete(request);
      if (decision === undefined) return undefined;
      if (decision.kind === 'reset') return HttpResponse.error();
      return faultResponse(decision);
    },
  );
  return [handler];
}
