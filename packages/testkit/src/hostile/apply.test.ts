import { describe, expect, it } from 'vitest';
import { startTestServer } from '../http-server.js';
import { holdRequests } from './apply.js';

describe('holdRequests', () => {
  it('holds a request until released, then answers it and later ones at once', async () => {
    const hold = holdRequests({ method: 'PUT', path: '/upload/*' });
    await using server = await startTestServer({ handlers: [], raw: [hold] });
    let settled = false;
    const first = fetch(`${server.url}/upload/1`, { method: 'PUT', body: 'abc' }).then((r) => {
      settled = true;
      return r.status;
    });
    await hold.arrived;
    expect(hold.stats.requests).toBe(1);
    expect(settled).toBe(false);
    hold.release(500);
    expect(await first).toBe(500);
    const later = await fetch(`${server.url}/upload/2`, { method: 'PUT', body: 'x' });
    expect(later.status).toBe(500);
    expect(hold.stats.requests).toBe(2);
  });

  it('lets go of a held request when the client leaves', async () => {
    const hold = holdRequests({ path: '/x' });
    await using server = await startTestServer({ handlers: [], raw: [hold] });
    const controller = new AbortController();
    const pending = fetch(`${server.url}/x`, { signal: controller.signal });
    await hold.arrived;
    controller.abort();
    await expect(pending).rejects.toThrow();
  });
});
