import { createHash } from 'node:crypto';
import { afterAll, expect } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import {
  type CrucibleSimulator,
  type CrucibleSimulatorOptions,
  createCrucibleSimulator,
} from './crucible-simulator.js';

// Helpers of the Crucible simulator's tests: a client per version and user, a served simulator with a fixed
// clock, byte fixtures. Each test file that imports them closes its servers and simulators after its tests.

const servers: TestServer[] = [];
const sims: CrucibleSimulator[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(sims.map((s) => s.dispose()));
});

export type Json = Record<string, unknown>;

export interface Api {
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string): Promise<{ status: number; body: unknown }>;
  send(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export function client(base: string, key: string | undefined): Api {
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { ...headers };
    if (key !== undefined) h.authorization = `Bearer ${key}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      h['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    return fetch(`${base}/${path.replace(/^\//, '')}`, {
      method,
      headers: h,
      ...(payload ? { body: payload } : {}),
    });
  };
  const read = async (res: Response) => {
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  return {
    call,
    get: async (path) => read(await call('GET', path)),
    send: async (method, path, body) => read(await call(method, path, body)),
  };
}

export async function serve(options: CrucibleSimulatorOptions = {}) {
  const clock = { t: Date.UTC(2026, 5, 1, 12, 0, 0) };
  const sim = createCrucibleSimulator({ seed: 3, now: () => clock.t, ...options });
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  sims.push(sim);
  const as = (version: 'v1' | 'v2', user?: string) =>
    client(`${server.url}/api/${version}`, user === undefined ? undefined : sim.keyFor(user));
  return { sim, server, clock, as, v1: (u = 'demo') => as('v1', u), v2: (u = 'demo') => as('v2', u) };
}

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** Byte equality without vitest's element-by-element diff (slow on megabytes). */
export const sameBytes = (a: Uint8Array | undefined, b: Uint8Array) =>
  expect(a !== undefined && Buffer.from(a).equals(Buffer.from(b))).toBe(true);

export function bytesOf(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A dataset of `owner`, private, by index pattern of the seed data (see crucible-model.ts). */
export function datasetOf(sim: CrucibleSimulator, owner: string, isPublic = false) {
  const orcid = sim.user(owner).orcid;
  const ds = sim.datasets.find(
    (d) => d.ownerOrcid === orcid && d.public === isPublic && sim.filesOf(d.uniqueId).length > 0,
  );
  if (!ds) throw new Error(`no dataset of ${owner}`);
  return ds;
}

export async function newDataset(api: Api, fields: Json = {}) {
  const res = await api.send('POST', 'datasets', {
    dataset_name: 'new one',
    project_id: 'DEMO-0001',
    ...fields,
  });
  expect(res.status).toBeLessThan(300);
  return (res.body as Json).unique_id as string;
}

export const GRANULE = 256 * 1024;
