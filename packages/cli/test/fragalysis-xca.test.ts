import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  startTestServer,
  type TestServer,
  xcaBundle,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/**
 * Issue 14 (xca) end to end: `sciport fragalysis …` with an OIDC access token (spec §11.2) and `fragalysis upload`
 * of XCA bundles (spec §11.5), the built CLI as a child process against the simulator over real sockets.
 */

let sim: FragalysisSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createFragalysisSimulator({ seed: 8, buildMs: 30 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

/** Runs `sciport fragalysis …` with a clean config and no credential unless `env` gives one. */
function fragalysis(args: string[], env: Record<string, string | undefined> = {}) {
  return runCli(['fragalysis', ...args], {
    env: {
      SCIPORT_CONFIG_DIR: dir,
      HOME: root,
      FRAGALYSIS_STACK: server.url,
      FRAGALYSIS_TOKEN: undefined,
      FRAGALYSIS_ACCESS_TOKEN: undefined,
      ...env,
    },
  });
}

async function bundle(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(root, name);
  await writeFile(file, bytes);
  return file;
}

describe('access tokens', () => {
  it('are sent as Authorization: Bearer and accepted; never printed', async () => {
    const token = sim.accessTokenFor('demo');
    const r = await fragalysis(['whoami', '--json'], { FRAGALYSIS_ACCESS_TOKEN: token });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ user: 'demo' });
    const targets = await fragalysis(['targets', '--json', '--verbose'], { FRAGALYSIS_ACCESS_TOKEN: token });
    expect(targets.code).toBe(0);
    expect(targets.stdout.trim().split('\n')).toHaveLength(4);
    expect(targets.stdout + targets.stderr + r.stdout + r.stderr).not.toContain(token);
    const api = server.requests.filter((q) => q.path.startsWith('/api/'));
    expect(api.length).toBeGreaterThan(0);
    expect(api.every((q) => q.headers.authorization === `Bearer ${token}` && !q.headers.cookie)).toBe(true);
  });

  it('work from `sciport config set fragalysis.accessToken`', async () => {
    const token = sim.accessTokenFor('demo');
    const set = await runCli(['config', 'set', 'fragalysis.accessToken'], {
      input: `${token}\n`,
      env: { SCIPORT_CONFIG_DIR: dir, HOME: root },
    });
    expect(set.code).toBe(0);
    const r = await fragalysis(['whoami']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^demo on /);
  });

  it('together with a session token is a usage error (exit 2) before any request', async () => {
    const r = await fragalysis(['targets'], {
      FRAGALYSIS_TOKEN: sim.tokenFor('demo'),
      FRAGALYSIS_ACCESS_TOKEN: sim.accessTokenFor('demo'),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /Both a session token \(FRAGALYSIS_TOKEN.*access token \(FRAGALYSIS_ACCESS_TOKEN/s,
    );
    expect(r.stderr).not.toContain(sim.tokenFor('demo'));
    expect(r.stderr).not.toContain(sim.accessTokenFor('demo'));
    expect(server.requests).toHaveLength(0);
  });

  it('refused: exit 3 naming the access token, the token in no output (text or --json)', async () => {
    const token = sim.accessTokenFor('demo');
    sim.expireAccessToken('demo');
    for (const args of [['targets'], ['targets', '--json'], ['whoami', '--verbose']]) {
      const r = await fragalysis(args, { FRAGALYSIS_ACCESS_TOKEN: token });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(/refused the access token \(FRAGALYSIS_ACCESS_TOKEN\)/);
      const all = r.stdout + r.stderr;
      for (const form of [token, encodeURIComponent(token), Buffer.from(token).toString('base64')]) {
        expect(all).not.toContain(form);
      }
    }
    const malformed = await fragalysis(['targets'], { FRAGALYSIS_ACCESS_TOKEN: 'two words' });
    expect(malformed.code).toBe(2);
  });

  it('a refused session token still names the session token', async () => {
    const r = await fragalysis(['targets'], { FRAGALYSIS_TOKEN: 'deadbeefdeadbeefdeadbeefdeadbeef' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('FRAGALYSIS_TOKEN');
    expect(r.stderr).not.toContain('FRAGALYSIS_ACCESS_TOKEN)');
  });
});

describe('sciport fragalysis upload', () => {
  it('--wait prints the new upload index, and `uploads` lists it afterwards', async () => {
    const file = await bundle('Mpro-v5.tgz', xcaBundle({ target: 'Mpro', version: 5 }));
    const r = await fragalysis(['upload', file, '--target', 'Mpro', '--tas', 'sw30864-12', '--wait'], {
      FRAGALYSIS_TOKEN: sim.tokenFor('demo'),
    });
    expect(r.stderr).toMatch(/loader: INFO: Mpro-v5\.tgz uploaded successfully/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Loaded .*Mpro-v5\.tgz into Mpro@sw30864-12: upload 5/);
    const post = server.requests.find((q) => q.method === 'POST');
    expect(post?.path).toBe('/api/upload_target_experiments/');
    expect(post?.headers['x-csrftoken']).toBeDefined();

    const uploads = await fragalysis(['uploads', '--json'], { FRAGALYSIS_TOKEN: sim.tokenFor('demo') });
    const rows = uploads.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { target: string; tas: string; lastUploadIndex: number });
    expect(rows.find((x) => x.target === 'Mpro' && x.tas === 'sw30864-12')?.lastUploadIndex).toBe(5);
  });

  it('with an access token: no CSRF, and --json gives one object with the index', async () => {
    const file = await bundle('new.tgz', xcaBundle({ target: 'Fresh', version: 1 }));
    const r = await fragalysis(
      [
        'upload',
        file,
        '--target',
        'Fresh',
        '--tas',
        'lb00000-1',
        '--wait',
        '--json',
        '--contact-email',
        'a@b.org',
      ],
      { FRAGALYSIS_ACCESS_TOKEN: sim.accessTokenFor('demo') },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ target: 'Fresh', status: 'loaded', uploadIndex: 1 });
    expect(server.requests.some((q) => q.path === '/viewer/react/landing/')).toBe(false);
  });

  it('refuses a bad tarball before any request, with a clear message', async () => {
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['nometa.tgz', xcaBundle({ target: 'Mpro', omit: ['meta_aligner.yaml'] }), /has no meta_aligner\.yaml/],
      ['noconf.tgz', xcaBundle({ target: 'Mpro', omit: ['config.yaml'] }), /has no config\*\.yaml/],
      [
        'escape.tgz',
        xcaBundle({ target: 'Mpro', extra: { '../x': 'y' } }),
        /unsafe: it contains a "\.\." component/,
      ],
      ['junk.tgz', new TextEncoder().encode('not a tarball at all'), /not a tar archive/],
    ];
    for (const [name, bytes, message] of cases) {
      const file = await bundle(name, bytes);
      const r = await fragalysis(['upload', file, '--target', 'Mpro', '--tas', 'sw30864-12'], {
        FRAGALYSIS_TOKEN: sim.tokenFor('demo'),
      });
      expect(r.code, name).toBe(2);
      expect(r.stderr, name).toMatch(message);
    }
    expect(server.requests).toHaveLength(0);
  });

  it('a task that never finishes: the deadline error names the upload', async () => {
    sim.setTargetOutcome('Mpro', 'sw30864-12', 'lost');
    const file = await bundle('stuck.tgz', xcaBundle({ target: 'Mpro', version: 9 }));
    const started = Date.now();
    const r = await fragalysis(
      ['upload', file, '--target', 'Mpro', '--tas', 'sw30864-12', '--wait', '--max-wait', '2'],
      { FRAGALYSIS_TOKEN: sim.tokenFor('demo') },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/The XCA upload of stuck\.tgz to sw30864-12 was not finished within \d+ s/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('anonymous: exit 3 (the stack asks for a login); non-member: exit 3', async () => {
    const file = await bundle('ok.tgz', xcaBundle({ target: 'Mpro', version: 6 }));
    const anonymous = await fragalysis(['upload', file, '--target', 'Mpro', '--tas', 'sw30864-12']);
    expect(anonymous.code).toBe(3);
    expect(anonymous.stderr).toMatch(/uploads need a token/);
    const outsider = await fragalysis(['upload', file, '--target', 'Mpro', '--tas', 'sw30864-12'], {
      FRAGALYSIS_ACCESS_TOKEN: sim.accessTokenFor('outsider'),
    });
    expect(outsider.code).toBe(3);
    expect(outsider.stderr).toMatch(/not authorized to upload data to 'sw30864-12'/);
  });
});
