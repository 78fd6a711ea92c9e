import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { holdRequests } from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/** `sciport crucible apply` end to end: the built CLI as a child process against the simulator. */

let sim: CrucibleSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;
let work: string;

beforeEach(async () => {
  sim = createCrucibleSimulator({ seed: 13, datasets: 10, chunkSizeHint: 256 * 1024 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
  work = path.join(root, 'batch');
  await mkdir(path.join(work, 'data'), { recursive: true });
});

afterEach(async () => {
  await server.close();
  await sim.dispose();
  await cleanup();
});

function crucible(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(['crucible', ...args], {
    ...options,
    env: {
      SCIPORT_CONFIG_DIR: dir,
      HOME: root,
      XDG_CACHE_HOME: path.join(root, 'cache'),
      CRUCIBLE_API_URL: `${server.url}/api/v2`,
      CRUCIBLE_API_KEY: sim.keyFor('demo'),
      ...options.env,
    },
  });
}

/** Requests that change something, API and storage: anything but GET and HEAD. */
function writeRequests() {
  return server.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
}

const MANIFEST = `version: 1
project: DEMO-0001
samples:
  - id: wafer
    name: wafer 12
    type: substrate
    metadata: {thickness_nm: 500}
  - id: piece
    name: "wafer 12 \\e[31mpiece"
    parents: [wafer]
datasets:
  - id: raw
    name: XRD raw 12
    measurement: xrd
    keywords: [xrd, raw]
    metadata: meta.json
    files: [data/*.csv]
    samples: [piece]
  - id: fit
    name: XRD fit 12
    files: [fit.txt]
    ingest: false
    parents: [raw]
`;

async function writeBatch(manifest = MANIFEST, csvBytes = 64) {
  await writeFile(path.join(work, 'data', 'a.csv'), `x,y\n${'1,2\n'.repeat(csvBytes / 4)}`);
  await writeFile(path.join(work, 'data', 'b.csv'), 'x,y\n3,4\n');
  await writeFile(path.join(work, 'fit.txt'), 'a = 1.5\n');
  await writeFile(path.join(work, 'meta.json'), JSON.stringify({ wavelength: 1.54 }));
  const file = path.join(work, 'manifest.yaml');
  await writeFile(file, manifest);
  return file;
}

async function stateOf(file: string) {
  return JSON.parse(await readFile(`${file}.state.json`, 'utf8')) as {
    samples: Record<string, { uniqueId: string; pending?: boolean }>;
    datasets: Record<string, { uniqueId: string; pending?: boolean; files?: Record<string, unknown> }>;
    links: string[];
  };
}

describe('sciport crucible apply', () => {
  it('creates everything once; a second run sends no write request and prints what matched', async () => {
    const file = await writeBatch();
    const before = { samples: sim.samples.length, datasets: sim.datasets.length };
    const r = await crucible(['apply', file]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^created sample wafer \([0-9a-z]{26}\)$/m);
    expect(r.stdout).toMatch(/^linked sample wafer \(.*\) → child sample piece/m);
    expect(r.stdout).toMatch(/^uploaded data\/a\.csv to dataset raw/m);
    expect(r.stdout).toMatch(/^requested ingestion of data\/b\.csv \(the server picks the ingestor\)/m);
    expect(r.stdout).not.toMatch(/ingestion of fit\.txt/);

    const state = await stateOf(file);
    const ids = {
      wafer: state.samples.wafer?.uniqueId as string,
      piece: state.samples.piece?.uniqueId as string,
      raw: state.datasets.raw?.uniqueId as string,
      fit: state.datasets.fit?.uniqueId as string,
    };
    expect(sim.samples.length).toBe(before.samples + 2);
    expect(sim.datasets.length).toBe(before.datasets + 2);
    const wafer = sim.samples.find((s) => s.uniqueId === ids.wafer);
    expect(wafer).toMatchObject({ sampleName: 'wafer 12', sampleType: 'substrate', projectId: 'DEMO-0001' });
    expect(wafer?.metadata).toEqual({ thickness_nm: 500 });
    const raw = sim.dataset(ids.raw);
    expect(raw).toMatchObject({ datasetName: 'XRD raw 12', measurement: 'xrd' });
    expect(raw?.metadata).toEqual({ wavelength: 1.54 });
    expect(raw?.keywords.map((k) => k.toLowerCase()).sort()).toEqual(['raw', 'xrd']);
    expect(sim.filesOf(ids.raw)).toHaveLength(2);
    expect(sim.filesOf(ids.fit)).toHaveLength(1);
    const links = writeRequests()
      .filter((w) => /\/(children|samples)\/[0-9a-z]{26}$/.test(w.path))
      .map((w) => w.path.replace(/^.*\/api\/v2\//, ''));
    expect(links.sort()).toEqual(
      [
        `samples/${ids.wafer}/children/${ids.piece}`,
        `datasets/${ids.raw}/children/${ids.fit}`,
        `datasets/${ids.raw}/samples/${ids.piece}`,
      ].sort(),
    );
    // The sample name came from the file: printed escaped, never as a raw escape sequence.
    expect(r.stdout).not.toContain('\u001b');

    server.clearLog();
    const again = await crucible(['apply', file]);
    expect(again.code).toBe(0);
    expect(writeRequests()).toEqual([]);
    expect(again.stdout).toMatch(/^matched sample wafer/m);
    expect(again.stdout).toMatch(/^matched data\/a\.csv in dataset raw .*\(already held as [0-9a-z]{26}\)$/m);
    expect(again.stdout).not.toMatch(/^(created|uploaded|linked|added|merged|requested)/m);
    expect(again.stderr).toMatch(/Everything matched/);
    expect(sim.samples.length).toBe(before.samples + 2);
    expect(sim.datasets.length).toBe(before.datasets + 2);
  });

  it('--json prints one action per line and a summary; --dry-run sends nothing and keeps no state', async () => {
    const file = await writeBatch();
    const dry = await crucible(['apply', file, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(writeRequests()).toEqual([]);
    const lines = dry.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const summary = lines.at(-1);
    expect(summary).toMatchObject({ type: 'summary', dryRun: true, done: 0, matched: 0, writes: 0 });
    expect(lines.slice(0, -1).every((l) => l.type === 'action' && l.outcome === 'planned')).toBe(true);
    expect(lines.filter((l) => l.action === 'create').map((l) => l.id)).toEqual([
      'wafer',
      'piece',
      'raw',
      'fit',
    ]);
    await expect(readFile(`${file}.state.json`)).rejects.toThrow();
    const human = await crucible(['apply', file, '--dry-run']);
    expect(human.stdout).toMatch(/^would create sample wafer$/m);
    expect(human.stdout).toMatch(/^would upload fit\.txt to dataset fit$/m);
    expect(writeRequests()).toEqual([]);

    const real = await crucible(['apply', file, '--json']);
    const done = real.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(done.at(-1)).toMatchObject({ type: 'summary', dryRun: false, matched: 0 });
    expect(done.at(-1).done).toBe(done.length - 1);
  });

  it('exits 2 naming the key and its line, the missing file, the unknown reference; nothing is created', async () => {
    const cases: Array<[string, RegExp]> = [
      [
        MANIFEST.replace('    type: substrate\n', '    colour: red\n'),
        /manifest\.yaml:6:5: unknown key "colour"/,
      ],
      [
        MANIFEST.replace('[fit.txt]', '[fit.txt, gone.h5]'),
        /manifest\.yaml:\d+:\d+: files: no such file: gone\.h5/,
      ],
      [MANIFEST.replace('[data/*.csv]', '["raw/**/*.h5"]'), /raw\/\*\*\/\*\.h5 matches no file/],
      [
        MANIFEST.replace('parents: [raw]', 'parents: [0tbg8f8eq1sbs000x1sdqdtpnm]'),
        /manifest\.yaml:23:15: parents: "0tbg8f8eq1sbs000x1sdqdtpnm" is neither in this manifest nor on the server/,
      ],
      [
        MANIFEST.replace('parents: [wafer]', 'parents: [wafr]'),
        /manifest\.yaml:10:15: parents: "wafr" is neither/,
      ],
    ];
    for (const [text, message] of cases) {
      const file = await writeBatch(text);
      const r = await crucible(['apply', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/nothing was changed/);
    }
    const file = await writeBatch(MANIFEST.replace('    type: substrate\n', '    colour: red\n'));
    const json = await crucible(['--json', 'apply', file]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr.trim().split('\n').at(-1) as string)).toMatchObject({
      name: 'ManifestError',
      problems: [{ line: 6, column: 5, field: 'colour' }],
    });
    expect(writeRequests()).toEqual([]);
  });

  it('a run killed during an upload is finished by the next, with nothing duplicated', async () => {
    // 1 MiB: several 256 KiB chunks; the first chunk PUT is held, so the kill lands mid-upload.
    const file = await writeBatch(MANIFEST, 1024 * 1024);
    const before = { samples: sim.samples.length, datasets: sim.datasets.length };
    const hold = holdRequests({ method: 'PUT', path: '/storage/upload/*' });
    server.useRaw(hold);
    let child: ChildProcess | undefined;
    const run = crucible(['apply', file], {
      onSpawn: (c) => {
        child = c;
      },
    });
    await hold.arrived;
    const mid = await stateOf(file);
    // Every record, metadata, keyword and link is done and recorded; the first upload is under way.
    expect(Object.keys(mid.samples)).toEqual(['wafer', 'piece']);
    expect(Object.values(mid.datasets).every((d) => !d.pending)).toBe(true);
    expect(mid.links).toHaveLength(3);
    expect(Object.values(mid.datasets.raw?.files ?? {})).toEqual([
      expect.objectContaining({ status: 'uploading' }),
    ]);
    child?.kill('SIGKILL');
    const killed = await run;
    expect(killed.signal).toBe('SIGKILL');

    server.resetHandlers();
    server.clearLog();
    const resumed = await crucible(['apply', file]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^matched sample wafer/m);
    expect(resumed.stdout).toMatch(/^matched dataset raw/m);
    expect(resumed.stdout).toMatch(/^uploaded data\/a\.csv to dataset raw/m);
    expect(resumed.stdout).toMatch(/^uploaded fit\.txt to dataset fit/m);
    // No record, keyword or link sent again.
    expect(
      writeRequests().filter((w) =>
        /\/(samples|datasets|keywords|metadata|children\/\w+|samples\/\w+)$/.test(w.path),
      ),
    ).toEqual([]);
    expect(sim.samples.length).toBe(before.samples + 2);
    expect(sim.datasets.length).toBe(before.datasets + 2);
    const state = await stateOf(file);
    const raw = state.datasets.raw?.uniqueId as string;
    expect(sim.filesOf(raw)).toHaveLength(2);
    expect(sim.dataset(raw)?.keywords).toHaveLength(2);
    expect(sim.filesOf(state.datasets.fit?.uniqueId as string)).toHaveLength(1);

    server.clearLog();
    const third = await crucible(['apply', file]);
    expect(third.code).toBe(0);
    expect(writeRequests()).toEqual([]);
  });
});
