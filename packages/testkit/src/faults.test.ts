import { describe, expect, it } from 'vitest';
import { createFaultInjector, type FaultDecision, type FaultRule, faultResponse } from './faults.js';

function decisions(
  faults: FaultRule | FaultRule[],
  requests: [method: string, path: string][],
  seed = 1,
): FaultDecision[] {
  const injector = createFaultInjector(faults, { seed });
  return requests.map(([method, path]) => injector.decide(method, path));
}

const gets = (count: number, path = '/x'): [string, string][] =>
  Array.from({ length: count }, () => ['GET', path]);

describe('createFaultInjector', () => {
  it('decides nothing without rules', () => {
    expect(decisions([], gets(3))).toEqual([{ latencyMs: 0 }, { latencyMs: 0 }, { latencyMs: 0 }]);
  });

  it('is deterministic for a seed and request order', () => {
    const rule: FaultRule = { failRate: 0.4, rateLimitRate: 0.2, resetRate: 0.1, latencyMs: [0, 50] };
    const first = decisions(rule, gets(50), 3);
    expect(decisions(rule, gets(50), 3)).toEqual(first);
    expect(decisions(rule, gets(50), 4)).not.toEqual(first);
    expect(new Set(first.map((d) => d.kind))).toEqual(new Set([undefined, 'fail', 'rate-limit', 'reset']));
  });

  it('picks fail statuses from the list, 500 and 503 by default', () => {
    const defaults = decisions({ failRate: 1 }, gets(40)).map((d) => d.status);
    expect(new Set(defaults)).toEqual(new Set([500, 503]));
    const custom = decisions({ failRate: 1, failStatus: [502, 504] }, gets(40)).map((d) => d.status);
    expect(new Set(custom)).toEqual(new Set([502, 504]));
  });

  it('sends retryAfter on 429 and 503 only', () => {
    const [limited] = decisions({ rateLimitRate: 1, retryAfter: 3 }, gets(1));
    expect(limited).toEqual({ kind: 'rate-limit', status: 429, retryAfter: '3', latencyMs: 0 });
    const failed = decisions({ failRate: 1, retryAfter: 3 }, gets(40));
    for (const d of failed) expect(d.retryAfter).toBe(d.status === 503 ? '3' : undefined);
  });

  it('applies the first fault kind and adds up latencies of the rules that fire', () => {
    const [decision] = decisions(
      [{ latencyMs: 10 }, { failRate: 1, failStatus: 500 }, { rateLimitRate: 1, latencyMs: 5 }],
      gets(1),
    );
    expect(decision).toEqual({ kind: 'fail', status: 500, latencyMs: 15 });
  });

  it('tries reset, then rate limit, then fail, then truncate within a rule', () => {
    const all: FaultRule = { resetRate: 1, rateLimitRate: 1, failRate: 1, truncateRate: 1 };
    expect(decisions(all, gets(1))[0]?.kind).toBe('reset');
    expect(decisions({ ...all, resetRate: 0 }, gets(1))[0]?.kind).toBe('rate-limit');
    expect(decisions({ ...all, resetRate: 0, rateLimitRate: 0 }, gets(1))[0]?.kind).toBe('fail');
    expect(decisions({ truncateRate: 1 }, gets(1))[0]?.kind).toBe('truncate');
  });

  it('never truncates when truncation is off', () => {
    const injector = createFaultInjector({ truncateRate: 1 }, { truncation: false });
    expect(injector.decide('GET', '/x').kind).toBeUndefined();
  });

  it('stops a rule after `times` firings and counts every Nth match', () => {
    const once = decisions({ failRate: 1, failStatus: 503, times: 1 }, gets(3)).map((d) => d.status);
    expect(once).toEqual([503, undefined, undefined]);
    const every = decisions({ rateLimitEvery: 2, times: 2 }, gets(6)).map((d) => d.kind);
    expect(every).toEqual([undefined, 'rate-limit', undefined, 'rate-limit', undefined, undefined]);
    const zero = decisions({ failRate: 1, times: 0 }, gets(2)).map((d) => d.kind);
    expect(zero).toEqual([undefined, undefined]);
  });

  it('matches method case-insensitively and the pathname exactly, by prefix or by RegExp', () => {
    const rules: FaultRule[] = [
      { match: { method: 'get', path: '/files/*' }, failRate: 1, failStatus: 501 },
      { match: { path: '/exact' }, failRate: 1, failStatus: 502 },
      { match: { path: /^\/v\d+\/jobs$/g }, failRate: 1, failStatus: 504 },
    ];
    const status = (method: string, path: string): number | undefined =>
      decisions(rules, [[method, path]])[0]?.status;
    expect(status('GET', '/files/a/b')).toBe(501);
    expect(status('GET', '/files/')).toBe(501);
    expect(status('PUT', '/files/a')).toBeUndefined();
    expect(status('GET', '/filesx')).toBeUndefined();
    expect(status('POST', '/exact')).toBe(502);
    expect(status('POST', '/exact/')).toBeUndefined();
    // A global RegExp keeps state between tests: matching must not depend on it.
    const injector = createFaultInjector(rules);
    expect([1, 2, 3].map(() => injector.decide('GET', '/v2/jobs').status)).toEqual([504, 504, 504]);
  });

  it('restarts counters and the generator on setFaults', () => {
    const injector = createFaultInjector({ failRate: 0.5, times: 3 }, { seed: 8 });
    const run = (): (number | undefined)[] =>
      Array.from({ length: 10 }, () => injector.decide('GET', '/').status);
    const first = run();
    injector.setFaults({ failRate: 0.5, times: 3 });
    expect(run()).toEqual(first);
    injector.setFaults(undefined);
    expect(run().every((s) => s === undefined)).toBe(true);
  });

  it.each<[string, FaultRule]>([
    ['failRate', { failRate: 1.5 }],
    ['rateLimitRate', { rateLimitRate: -0.1 }],
    ['truncateRate', { truncateRate: Number.NaN }],
    ['resetRate', { resetRate: 2 }],
    ['failStatus', { failStatus: 99 }],
    ['failStatus', { failStatus: [] }],
    ['rateLimitEvery', { rateLimitEvery: 0 }],
    ['times', { times: 1.5 }],
    ['latencyMs', { latencyMs: [50, 10] }],
    ['latencyMs', { latencyMs: -1 }],
    ['retryAfter', { retryAfter: -1 }],
  ])('rejects an invalid %s', (name, rule) => {
    expect(() => createFaultInjector([{}, rule])).toThrow(new RegExp(`Fault rule 1: ${name}`));
  });
});

describe('faultResponse', () => {
  it('builds short text/plain answers for fail and rate-limit decisions only', async () => {
    const response = faultResponse({ kind: 'rate-limit', status: 429, retryAfter: '2', latencyMs: 0 });
    expect(response?.status).toBe(429);
    expect(response?.headers.get('retry-after')).toBe('2');
    expect(response?.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await response?.text()).toBe('429 Too Many Requests (injected fault)');
    expect(faultResponse({ kind: 'reset', latencyMs: 0 })).toBeUndefined();
    expect(faultResponse({ latencyMs: 0 })).toBeUndefined();
  });
});
