import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  createIcsdSimulator,
  type IcsdSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/**
 * Issue 15, "messages that say what to do", end to end: the built CLI as a child process, over real sockets,
 * against the simulators. Unknown config keys (item 5), API URLs without their path (6), network failures
 * (7), an empty dataset (10), what `upload new --ingest --wait` did (13). No secret in any of these messages.
 */

let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await cleanup();
});

function sciport(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(args, {
    ...options,
    env: {
      SCIPORT_CONFIG_DIR: dir,
      HOME: root,
      XDG_CACHE_HOME: path.join(root, 'cache'),
      ...options.env,
    },
  });
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** A port nothing listens on: a server's, once it is closed. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('config keys no service reads are refused (item 5)', () => {
  it('set refuses a mistyped key with exit 2 and "did you mean", and saves nothing', async () => {
    const r = await sciport(['config', 'set', 'icsd.usrname', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sciport: Unknown config key "icsd\.usrname"/);
    expect(r.stderr).toContain('Did you mean icsd.username?');
    expect(r.stderr).not.toContain('Saved');
    expect(await exists(path.join(dir, 'config.json'))).toBe(false);
  });

  it('a key far from every known one lists the keys, read from the services’ settings', async () => {
    const r = await sciport(['config', 'set', 'foo', 'bar']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown config key "foo"');
    for (const key of [
      'icsd.username',
      'icsd.baseUrl',
      'crucible.apiKey',
      'crucible.apiUrl',
      'fragalysis.token',
    ]) {
      expect(r.stderr).toContain(key);
    }
    const help = await sciport(['config', '--help']);
    expect(help.stdout).toMatch(/Keys: icsd\.baseUrl, icsd\.username, icsd\.password, crucible\.apiUrl/);
  });

  it('a mistyped secret key is refused before its value is read, which never shows', async () => {
    const secret = 'pw-typed-under-a-wrong-key-4711';
    const r = await sciport(['config', 'set', 'icsd.pasword'], { input: `${secret}\n` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Did you mean icsd.password?');
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(await exists(path.join(dir, 'credentials.json'))).toBe(false);
    const onArgv = await sciport(['config', 'set', 'crucible.apikey', secret]);
    expect(onArgv.code).toBe(2);
    expect(onArgv.stderr).toContain('Did you mean crucible.apiKey?');
    expect(onArgv.stdout + onArgv.stderr).not.toContain(secret);
  });

  it('get and unset refuse unknown keys alike, but reach a stale key that is in the file', async () => {
    const get = await sciport(['config', 'get', 'icsd.usrname']);
    expect(get.code).toBe(2);
    expect(get.stderr).toContain('Did you mean icsd.username?');
    const unset = await sciport(['--json', 'config', 'unset', 'fragalysis.stak']);
    expect(unset.code).toBe(2);
    expect(JSON.parse(unset.stderr)).toMatchObject({ code: 'usage_error' });
    expect(unset.stderr).toContain('fragalysis.stack');
    // Saved by hand (or an older version): still readable and removable.
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ icsd: { usrname: 'alice' } }));
    const stale = await sciport(['config', 'get', 'icsd.usrname']);
    expect(stale.code).toBe(0);
    expect(stale.stdout).toBe('alice\n');
    const removed = await sciport(['config', 'unset', 'icsd.usrname']);
    expect(removed.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'))).toEqual({});
    // Known keys work as before.
    expect((await sciport(['config', 'set', 'icsd.username', 'alice'])).code).toBe(0);
  });
});

describe('API URLs without their path (item 6) and network failures (item 7)', () => {
  let crucibleSim: CrucibleSimulator;
  let icsdSim: IcsdSimulator;
  let server: TestServer;

  beforeEach(async () => {
    crucibleSim = createCrucibleSimulator({ seed: 15, datasets: 3 });
    icsdSim = createIcsdSimulator({ seed: 15, entries: 20 });
    server = await startTestServer({ handlers: [...crucibleSim.handlers, ...icsdSim.handlers] });
  });

  afterEach(async () => {
    await server.close();
    await crucibleSim.dispose();
  });

  const crucibleEnv = (url: string) => ({
    CRUCIBLE_API_URL: url,
    CRUCIBLE_API_KEY: crucibleSim.keyFor('demo'),
  });
  const icsdEnv = (url: string) => ({
    ICSD_BASE_URL: url,
    ICSD_USERNAME: 'demo',
    ICSD_PASSWORD: 'demo-password',
  });

  it('CRUCIBLE_API_URL without /api/v2 is refused up front with the expected form, nothing sent', async () => {
    const before = server.requests.length;
    const r = await sciport(['crucible', 'whoami'], { env: crucibleEnv(server.url) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`The Crucible API URL ${server.url} has no API version path`);
    expect(r.stderr).toContain(`${server.url}/api/v2`);
    expect(r.stderr).toContain('CRUCIBLE_API_URL');
    expect(r.stderr).not.toContain('failed with 404');
    expect(server.requests.length).toBe(before);
    expect(r.stdout + r.stderr).not.toContain(crucibleSim.keyFor('demo'));
    // …/api alone is the same mistake.
    const api = await sciport(['crucible', 'datasets', 'list'], { env: crucibleEnv(`${server.url}/api`) });
    expect(api.code).toBe(2);
    expect(api.stderr).toContain(`${server.url}/api/v2`);
  });

  it('with --api-version, a 404 from a URL without its version path says what the URL should be', async () => {
    const r = await sciport(['crucible', 'whoami', '--api-version', 'v2'], { env: crucibleEnv(server.url) });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('404');
    expect(r.stderr).toContain(
      `lack its version path? Set CRUCIBLE_API_URL (or --api-url) to ${server.url}/api/v2`,
    );
  });

  it('ICSD_BASE_URL without /ws is refused up front; another path gets the expected form at login', async () => {
    const bare = await sciport(['icsd', 'login'], { env: icsdEnv(server.url) });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain(`The ICSD API URL ${server.url} has no API path`);
    expect(bare.stderr).toContain(`${server.url}/ws`);
    const wrong = await sciport(['icsd', 'login'], { env: icsdEnv(`${server.url}/icsd`) });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain(
      `lacks the API path /ws. Set ICSD_BASE_URL (or --base-url) to ${server.url}/icsd/ws`,
    );
    expect(wrong.stdout + wrong.stderr).not.toContain('demo-password');
  });

  it('a refused connection names host, port and the setting to check, for Crucible and ICSD (exit 5)', async () => {
    const port = await closedPort();
    const key = crucibleSim.keyFor('demo');
    const c = await sciport(['crucible', 'whoami'], { env: crucibleEnv(`http://127.0.0.1:${port}/api/v2`) });
    expect(c.code).toBe(5);
    expect(c.stderr).toContain(
      `could not reach 127.0.0.1:${port} (connection refused: nothing listens on port ${port}`,
    );
    expect(c.stderr).toContain('CRUCIBLE_API_URL');
    expect(c.stdout + c.stderr).not.toContain(key);
    const i = await sciport(['icsd', 'login'], { env: icsdEnv(`http://127.0.0.1:${port}/ws`) });
    expect(i.code).toBe(5);
    expect(i.stderr).toContain(`icsd: POST /ws/auth/login: could not reach 127.0.0.1:${port}`);
    expect(i.stderr).toContain('ICSD_BASE_URL');
    expect(i.stdout + i.stderr).not.toContain('demo-password');
  });

  it('a host that does not resolve says "DNS lookup failed" and the setting to check', async () => {
    const r = await sciport(['icsd', 'login'], { env: icsdEnv('https://icsd.sciport-test.invalid/ws') });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /^sciport: icsd: POST \/ws\/auth\/login: could not reach icsd\.sciport-test\.invalid \(DNS lookup failed/,
    );
    expect(r.stderr).toContain('Check the network or ICSD_BASE_URL');
    expect(r.stdout + r.stderr).not.toContain('demo-password');
    const json = await sciport(['--json', 'icsd', 'login'], {
      env: icsdEnv('https://icsd.sciport-test.invalid/ws'),
    });
    expect(JSON.parse(json.stderr)).toMatchObject({
      code: 'connection_error',
      failure: 'dns',
      host: 'icsd.sciport-test.invalid',
    });
  });
});

describe('crucible: create commands with nothing to create (item 10), upload new (item 13)', () => {
  let sim: CrucibleSimulator;
  let server: TestServer;

  beforeEach(async () => {
    sim = createCrucibleSimulator({
      seed: 16,
      datasets: 3,
      chunkSizeHint: 256 * 1024,
      ingestionSteps: { requestedMs: 20, startedMs: 20 },
    });
    server = await startTestServer({ handlers: sim.handlers });
  });

  afterEach(async () => {
    await server.close();
    await sim.dispose();
  });

  function crucible(args: string[], options: Parameters<typeof runCli>[1] = {}) {
    return sciport(['crucible', ...args], {
      ...options,
      env: { CRUCIBLE_API_URL: `${server.url}/api/v2`, CRUCIBLE_API_KEY: sim.keyFor('demo'), ...options.env },
    });
  }

  it('datasets create with no name and no project is refused (exit 2), and creates nothing', async () => {
    const before = sim.datasets.length;
    const r = await crucible(['datasets', 'create']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('A dataset needs a name or a project: give --name and/or --project');
    const blank = await crucible(['datasets', 'create', '--name', ' ', '--measurement', 'XRD']);
    expect(blank.code).toBe(2);
    const emptyRecord = await crucible(['datasets', 'create', '--from', '{}']);
    expect(emptyRecord.code).toBe(2);
    expect(sim.datasets.length).toBe(before);
    expect(server.requests.filter((q) => q.method === 'POST')).toEqual([]);
    const named = await crucible(['datasets', 'create', '--name', 'XRD scan 5']);
    expect(named.code).toBe(0);
    expect(sim.datasets.length).toBe(before + 1);
  });

  it('samples, projects and instruments create say what they need, and refuse blank values', async () => {
    const samples = await crucible(['samples', 'create']);
    expect(samples.code).toBe(2);
    expect(samples.stderr).toContain("required option '--name <name>' not specified");
    const blank = await crucible(['samples', 'create', '--name', '']);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain('--name must not be empty');
    const projects = await crucible(['projects', 'create', '--id', ' ', '--organization', 'Foundry']);
    expect(projects.code).toBe(2);
    expect(projects.stderr).toContain('--id must not be empty');
    const instruments = await crucible([
      'instruments',
      'create',
      '--name',
      'TEM',
      '--owner',
      '',
      '--location',
      '',
    ]);
    expect(instruments.code).toBe(2);
    expect(instruments.stderr).toContain('--owner, --location must not be empty');
    expect(server.requests.filter((q) => q.method === 'POST')).toEqual([]);
  });

  it('upload new --ingest --wait prints each file and its request outcome, as upload <dataset> does', async () => {
    const work = path.join(root, 'work');
    await mkdir(work, { recursive: true });
    await writeFile(path.join(work, 'scan.h5'), Buffer.alloc(300 * 1024, 7));
    await writeFile(path.join(work, 'notes.txt'), 'beam 5 keV\n');
    const scan = path.join(work, 'scan.h5');
    const image = path.join(work, 'image.h5');
    await writeFile(image, Buffer.alloc(1000, 3));
    const r = await crucible(['upload', 'new', scan, image, '--name', 'XRD', '--ingest', '--wait']);
    expect(r.code, r.stderr).toBe(0);
    const dsid = r.stdout.trim();
    expect(dsid).toMatch(/^\S+$/);
    expect(r.stderr).toContain(`Created dataset ${dsid}`);
    expect(r.stderr).toContain(`${scan}: uploaded as `);
    expect(r.stderr).toContain(`${image}: uploaded as `);
    expect(r.stderr.match(/^ {2}request \d+ complete$/gm)).toHaveLength(2);
    expect(r.stderr).not.toMatch(/ingestion \d+:/);
    // An ingestion that fails is shown with its file, and the command fails (as `upload <dataset>` does).
    const notes = path.join(work, 'notes.txt');
    const failed = await crucible(['upload', 'new', notes, '--ingest', '--wait']);
    expect(failed.code).toBe(1);
    expect(failed.stdout.trim()).toMatch(/^\S+$/);
    expect(failed.stderr).toMatch(/notes\.txt: uploaded as \S+\n {2}request \d+ not supported/);
    expect(failed.stderr).toMatch(/^sciport: Crucible request \d+ ended "not supported"/m);
    // The same words for an existing dataset.
    await writeFile(path.join(work, 'more.h5'), Buffer.alloc(2000, 5));
    const again = await crucible(['upload', dsid, path.join(work, 'more.h5'), '--ingest', '--wait']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/more\.h5: uploaded as \S+\n {2}request \d+ complete$/m);
    const waited = /request (\d+) complete/.exec(again.stderr)?.[1];
    const w = await crucible(['wait', waited as string]);
    expect(w.stderr).toContain(`request ${waited} complete`);
  });
});
