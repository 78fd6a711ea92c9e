import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import { createFragalysisSimulator } from './fragalysis-simulator.js';

/** The simulator's side of observation-level sync (spec §11.3): versions, superseding, subset builds, bytes served. */

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve() {
  const sim = createFragalysisSimulator({ seed: 3, buildMs: 0 });
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  const list = async () =>
    (
      (await (await fetch(`${server.url}/api/site_observations/?target=1`)).json()) as {
        results: Array<Record<string, unknown>>;
      }
    ).results;
  const post = async (proteins: string) =>
    (await fetch(`${server.url}/api/download_structures/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        target_name: 'Mpro',
        target_access_string: 'lb18145-1',
        proteins,
        metadata_info: true,
      }),
    }).then((r) => r.json())) as Record<string, unknown>;
  return { sim, server, list, post };
}

describe('observation changes', () => {
  it('re-processes observations as new rows under a new upload, hiding the old ones', async () => {
    const { sim, list } = await serve();
    const before = await list();
    const uploads = sim.targets[0]?.uploads.length as number;
    const [code] = sim.reprocessObservations('Mpro', 'lb18145-1', ['A0002a']);
    expect(code).toBe('A0002a');
    const after = await list();
    expect(after).toHaveLength(before.length);
    const old = before.find((o) => o.code === 'A0002a') as Record<string, unknown>;
    const now = after.find((o) => o.code === 'A0002a') as Record<string, unknown>;
    expect(now.id).not.toBe(old.id);
    expect(now.version).toBe(2);
    expect(String(now.bound_file)).toContain(`/upload_${uploads + 1}/`);
    expect(sim.targets[0]?.uploads).toHaveLength(uploads + 1);
    expect(after.filter((o) => o.code !== 'A0002a')).toEqual(before.filter((o) => o.code !== 'A0002a'));
  });

  it('adds and removes observations, each a new upload', async () => {
    const { sim, list } = await serve();
    const added = sim.addObservations('Mpro', 'lb18145-1', 3);
    expect(added).toEqual(['A0009a', 'A0010a', 'A0011a']);
    sim.removeObservations('Mpro', 'lb18145-1', ['A0001a']);
    const codes = (await list()).map((o) => o.code);
    expect(codes).toContain('A0011a');
    expect(codes).not.toContain('A0001a');
    expect(() => sim.removeObservations('Mpro', 'lb18145-1', ['nope'])).toThrow(RangeError);
  });

  it('logs each build with its codes, builds again for a re-processed observation, and counts bytes served', async () => {
    const { sim, server, post } = await serve();
    expect(await post('A0001a,A0004a')).toHaveProperty('task_status_url');
    expect(sim.builds().map((b) => b.codes)).toEqual([['A0001a', 'A0004a']]);
    expect(await post('A0001a,A0004a')).toHaveProperty('file_url');
    sim.reprocessObservations('Mpro', 'lb18145-1', ['A0004a']);
    expect(await post('A0001a,A0004a')).toHaveProperty('task_status_url');
    expect(sim.builds()).toHaveLength(2);
    const entry = server.requests.at(-1);
    await expect.poll(() => entry?.responseBytes).toBeGreaterThan(60);
  });
});
