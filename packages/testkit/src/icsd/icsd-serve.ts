import { afterAll } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import { createIcsdSimulator, type IcsdSimulator, type IcsdSimulatorOptions } from './icsd-simulator.js';

// The ICSD simulator served over HTTP for its route tests; each test file that imports this closes its servers
// after its tests.

/** Servers to close after the file's tests. */
export const servers: TestServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A simulator served over HTTP; `base` is `http://127.0.0.1:PORT/ws`. */
export async function serve(
  options: IcsdSimulatorOptions = {},
): Promise<{ sim: IcsdSimulator; base: string; url: string }> {
  const sim = createIcsdSimulator({ entries: 400, seed: 11, ...options });
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  return { sim, base: `${server.url}/ws`, url: server.url };
}

export const codesOf = (sim: IcsdSimulator, ids: readonly number[]): number[] =>
  ids.map((id) => sim.entryById(id)!.collectionCode);
