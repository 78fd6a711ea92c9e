import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NotFoundError, UsageError } from '@sciport/core';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  startTestServer,
  type TestServer,
  xcaBundle,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveStack } from '../src/credentials.js';
import { FragalysisClient, type FragalysisEvent } from '../src/index.js';

/** Issue 15 (a newcomer's first hour): messages that say what to do, compound codes, task states for progress. */

let sim: FragalysisSimulator;
let server: TestServer;
let dir: string;

beforeEach(async () => {
  sim = createFragalysisSimulator({ seed: 15, buildMs: 20 });
  server = await startTestServer({ handlers: sim.handlers });
  dir = await mkdtemp(path.join(tmpdir(), 'frag-newcomer-'));
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function client(options: ConstructorParameters<typeof FragalysisClient>[0] = {}): FragalysisClient {
  return new FragalysisClient({ baseUrl: server.url, maxRetries: 0, ...options });
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );

describe('stack URLs', () => {
  it('refuses a URL with a path, showing the origin to use and FRAGALYSIS_STACK', () => {
    for (const bad of [
      'https://fragalysis.diamond.ac.uk/viewer/react/landing/',
      'https://fragalysis.diamond.ac.uk/api',
      'fragalysis.diamond.ac.uk/api/targets/',
    ]) {
      expect(() => resolveStack(bad)).toThrow(UsageError);
      expect(() => resolveStack(bad)).toThrow(
        /Use https:\/\/fragalysis\.diamond\.ac\.uk \(.*FRAGALYSIS_STACK/,
      );
    }
    expect(() => client({ baseUrl: `${server.url}/api/` })).toThrow(/names the host only/);
    // The root (with or without its slash, a query or a fragment) is fine.
    expect(resolveStack('https://fragalysis.diamond.ac.uk/?x=1#y')).toBe('https://fragalysis.diamond.ac.uk');
    expect(client({ baseUrl: `${server.url}/` }).baseUrl).toBe(server.url);
  });
});

describe('target names', () => {
  it('lists an ambiguous title as Title@TAS, with both ways to name one', async () => {
    const error = await failure(client({ token: sim.tokenFor('demo') }).targets.get('Mpro'));
    expect(UsageError.isInstance(error)).toBe(true);
    expect(error.message).toContain('Mpro@lb18145-1, Mpro@sw30864-12');
    expect(error.message).toMatch(/Title@TAS \(Mpro@lb18145-1\).*--tas lb18145-1/);
  });

  it('suggests the title a wrong case (or a typo) meant', async () => {
    const c = client();
    const lower = await failure(c.targets.get('mpro'));
    expect(NotFoundError.isInstance(lower)).toBe(true);
    expect(lower.message).toMatch(/No visible target mpro; did you mean Mpro\?/);
    const typo = await failure(c.targets.get('A71EV2B'));
    expect(typo.message).toMatch(/did you mean A71EV2A\?/);
    const nothing = await failure(c.targets.get('Zzzzzzzz'));
    expect(nothing.message).not.toMatch(/did you mean/);
  });

  it('tells an anonymous caller how to set a token when a target is out of sight', async () => {
    const error = await failure(client().targets.get('NSP3'));
    expect(error.message).toMatch(/No visible target NSP3/);
    expect(error.message).toMatch(/set FRAGALYSIS_TOKEN .* or FRAGALYSIS_ACCESS_TOKEN/);
    const withToken = await failure(client({ token: sim.tokenFor('outsider') }).targets.get('NSP3'));
    expect(withToken.message).not.toMatch(/FRAGALYSIS_ACCESS_TOKEN/);
  });
});

describe('private proposals', () => {
  it('adds to a "|anon| is not a member" 404 how to set a token, and to a member refusal how to check', async () => {
    const anonymous = await failure(
      client().archives.request({ target: 'NSP3', tas: 'lb00000-1', pollInterval: 10 }),
    );
    expect(NotFoundError.isInstance(anonymous)).toBe(true);
    expect(anonymous.message).toContain('User "|anon|" is not a member of lb00000-1');
    expect(anonymous.message).toMatch(/Private proposals need a token: set FRAGALYSIS_TOKEN/);
    expect((anonymous as NotFoundError).status).toBe(404);
    const outsider = await failure(
      client({ token: sim.tokenFor('outsider') }).archives.request({
        target: 'NSP3',
        tas: 'lb00000-1',
        pollInterval: 10,
      }),
    );
    expect(NotFoundError.isInstance(outsider)).toBe(true);
    expect(outsider.message).toMatch(/not a member of lb00000-1.*sciport fragalysis whoami/);
  });
});

describe('compounds', () => {
  it('gives each unique SMILES of a target with its compound code and observations', async () => {
    const target = sim.targets.find((t) => t.title === 'Mpro' && t.tas === 'lb18145-1');
    const compounds = await client().observations.compounds('Mpro', 'lb18145-1').toArray();
    const smiles = await client().observations.smiles('Mpro', 'lb18145-1').toArray();
    expect(compounds.map((c) => c.smiles)).toEqual(smiles);
    for (const c of compounds) {
      const shown = target?.observations.filter((o) => o.smiles === c.smiles) ?? [];
      expect(c.compoundCode).toBe(shown[0]?.compoundCode);
      expect(c.observations).toEqual(shown.map((o) => o.code));
    }
  });
});

describe('task states for progress', () => {
  it('names the server state in archive events, and reports an XCA loader state as it changes', async () => {
    // The simulator's clock stands still while the build is RUNNING, and moves on once the client reported it
    // (states, not a race against the wall clock); then it runs again for the upload.
    let frozen: number | undefined = Date.now();
    let last = 0;
    await server.close();
    sim = createFragalysisSimulator({
      seed: 15,
      buildMs: 1_000,
      // Never backwards when it runs again (the frozen clock may be ahead of the wall clock by then).
      now: () => {
        last = Math.max(last, frozen ?? Date.now());
        return last;
      },
    });
    server = await startTestServer({ handlers: sim.handlers });
    const events: FragalysisEvent[] = [];
    const c = client({
      token: sim.tokenFor('demo'),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'archive' && e.status === 'RUNNING' && frozen !== undefined) frozen += 1_000;
      },
    });
    await c.archives.request({ target: 'Mpro', tas: 'lb18145-1', pollInterval: 10 });
    frozen = undefined;
    const archive = events.filter((e) => e.type === 'archive');
    expect(archive.at(-1)).toMatchObject({
      phase: 'done',
      status: 'SUCCESS',
      target: 'Mpro',
      tas: 'lb18145-1',
    });
    expect(archive.every((e) => e.target === 'Mpro' && e.tas === 'lb18145-1')).toBe(true);
    expect(archive.some((e) => e.phase === 'running' && e.status === 'RUNNING')).toBe(true);

    const file = path.join(dir, 'bundle.tgz');
    await writeFile(file, xcaBundle({ target: 'Mpro', version: 4 }));
    const states: string[] = [];
    await c.uploads.upload(file, {
      target: 'Mpro',
      tas: 'sw30864-12',
      wait: true,
      pollInterval: 10,
      onState: (s) => states.push(s),
    });
    expect(states.at(-1)).toBe('SUCCESS');
    expect(new Set(states).size, states.join(' ')).toBe(states.length);
  });
});
