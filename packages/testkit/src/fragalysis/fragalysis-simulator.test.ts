import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import { unzip } from '../icsd/icsd-test-helpers.js';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  type FragalysisSimulatorOptions,
} from './fragalysis-simulator.js';

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(
  options: FragalysisSimulatorOptions = {},
): Promise<{ sim: FragalysisSimulator; base: string; clock: { t: number } }> {
  const clock = { t: 1_000_000 };
  const sim = createFragalysisSimulator({ seed: 5, now: () => clock.t, ...options });
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  return { sim, base: server.url, clock };
}

/** A browser-like session: cookies kept per name, the CSRF cookie fetched from the landing page. */
function session(base: string, token?: string) {
  const cookies = new Map<string, string>(token ? [['sessionid', token]] : []);
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const request = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (cookies.size) headers.set('cookie', cookieHeader());
    const res = await fetch(`${base}${path}`, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = (pair as string).indexOf('=');
      cookies.set((pair as string).slice(0, eq), (pair as string).slice(eq + 1));
    }
    return res;
  };
  return {
    request,
    json: async (path: string) => (await request(path)).json() as Promise<Record<string, unknown>>,
    async csrf() {
      await request('/viewer/react/landing/');
      return cookies.get('csrftoken') as string;
    },
    async post(body: unknown, extra: Record<string, string> = {}) {
      const csrf = cookies.get('csrftoken') ?? (token ? await this.csrf() : undefined);
      return request('/api/download_structures/', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(csrf ? { 'x-csrftoken': csrf, referer: `${base}/viewer/react/landing/` } : {}),
          ...extra,
        },
        body: JSON.stringify(body),
      });
    },
  };
}

/** `tar` member names of a `.tar.gz` with their bytes. */
function untar(archive: Uint8Array): Map<string, Buffer> {
  const tar = gunzipSync(archive);
  const out = new Map<string, Buffer>();
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    out.set(name, Buffer.from(tar.subarray(at + 512, at + 512 + size)));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

const FRONT_END = {
  proteins: '',
  all_aligned_structures: true,
  metadata_info: true,
  single_sdf_file: true,
  file_url: '',
};

async function build(
  s: ReturnType<typeof session>,
  clock: { t: number },
  body: Record<string, unknown>,
): Promise<{ fileUrl: string; polls: Array<Record<string, unknown>> }> {
  const res = await s.post(body);
  expect(res.status).toBe(202);
  const { task_status_url } = (await res.json()) as { task_status_url: string };
  expect(task_status_url).toMatch(/^\/viewer\/task_status\/[0-9a-f-]{36}\/$/);
  const polls = [await s.json(task_status_url)];
  clock.t += 10_000;
  polls.push(await s.json(task_status_url));
  return { fileUrl: polls.at(-1)?.messages as string, polls };
}

describe('Fragalysis simulator: identity and visibility', () => {
  it('reports the user behind a session id, and an unknown one as anonymous (not an error)', async () => {
    const { sim, base } = await serve();
    const me = await session(base, sim.tokenFor('demo')).json('/api/user/');
    expect(me).toMatchObject({ user: 'demo', user_id: 2, ping: 'OK' });
    expect(me.target_access).toEqual(['sw30864-12', 'lb00000-1', 'lb18145-1']);
    const stranger = await session(base, 'not-a-session').json('/api/user/');
    expect(stranger).toMatchObject({ user: '', user_id: 1, target_access: [] });
  });

  it('lists open proposals to everyone and private ones to members only, one title under two TAS', async () => {
    const { sim, base } = await serve();
    const names = async (token?: string) =>
      (
        (await session(base, token).json('/api/targets/')).results as Array<{
          title: string;
          project_title: string;
        }>
      ).map((t) => `${t.title}@${t.project_title}`);
    expect(await names()).toEqual(['Mpro@lb18145-1', 'A71EV2A@lb32627-66']);
    expect(await names(sim.tokenFor('outsider'))).toEqual(['Mpro@lb18145-1', 'A71EV2A@lb32627-66']);
    expect(await names(sim.tokenFor('demo'))).toEqual([
      'Mpro@lb18145-1',
      'A71EV2A@lb32627-66',
      'Mpro@sw30864-12',
      'NSP3@lb00000-1',
    ]);
    const hidden = await session(base).request('/api/targets/4/');
    expect(hidden.status).toBe(404);
  });

  it('pages with absolute next/previous links that keep the other parameters', async () => {
    const { sim, base } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    const first = await s.json('/api/targets/?limit=3');
    expect(first.count).toBe(4);
    expect(first.next).toBe(`${base}/api/targets/?limit=3&offset=3`);
    expect(first.previous).toBeNull();
    const second = await s.json('/api/targets/?limit=3&offset=3');
    expect(second.results).toHaveLength(1);
    expect(second.next).toBeNull();
    expect(second.previous).toBe(`${base}/api/targets/?limit=3`);
    const fallback = await s.json('/api/targets/?limit=-1&offset=x');
    expect(fallback.results).toHaveLength(4);
  });

  it('redirects a route without its slash (301, query kept) and answers unknown routes with HTML 404', async () => {
    const { base } = await serve();
    const res = await session(base).request('/api/targets?limit=1');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/api/targets/?limit=1');
    const missing = await session(base).request('/api/nothing/');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('redirects authenticated GETs of a stale OIDC session to the Keycloak host', async () => {
    const stale = 'stale-session-0000000000000000000';
    const { base } = await serve({ staleTokens: [stale] });
    const res = await session(base, stale).request('/api/targets/');
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location') as string).host).toBe('keycloak.example.org');
  });
});

describe('Fragalysis simulator: archive builds', () => {
  it('refuses a session POST without CSRF, and accepts one with the cookie, header and same-origin referer', async () => {
    const { sim, base } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    const bare = await s.request('/api/download_structures/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(bare.status).toBe(403);
    expect(await bare.json()).toEqual({ detail: 'CSRF Failed: CSRF cookie not set.' });
    await s.csrf();
    const foreign = await s.post(
      { target_name: 'Mpro', target_access_string: 'sw30864-12' },
      { referer: 'https://evil.example/' },
    );
    expect(foreign.status).toBe(403);
    const ok = await s.post({ target_name: 'Mpro', target_access_string: 'sw30864-12' });
    expect(ok.status).toBe(202);
    expect(sim.stats.csrfBootstraps).toBe(1);
  });

  it('builds a tar.gz with the §4.7 layout, then serves identical requests at once from the cache', async () => {
    const { sim, base, clock } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    const body = {
      target_name: 'A71EV2A',
      target_access_string: 'lb32627-66',
      ...FRONT_END,
      event_file: true,
    };
    const { fileUrl, polls } = await build(s, clock, body);
    expect(polls[0]).toMatchObject({ started: true, finished: false, status: 'RUNNING' });
    expect(typeof polls[0]?.messages).toBe('string');
    expect(polls[1]).toMatchObject({ started: true, finished: true, status: 'SUCCESS' });
    expect(fileUrl).toMatch(/^\/code\/media\/downloads\/[0-9a-f-]{36}\/A71EV2A\.tar\.gz$/);

    const res = await s.request(`/api/download_structures/?file_url=${encodeURIComponent(fileUrl)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="A71EV2A.tar.gz"');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(bytes.byteLength);
    expect(Buffer.from(bytes).equals(Buffer.from(sim.archiveBytes(fileUrl) as Uint8Array))).toBe(true);
    const files = untar(bytes);
    const names = [...files.keys()];
    expect(names[0]).toBe('./');
    expect(names.every((n) => n.startsWith('./'))).toBe(true);
    for (const n of [
      './metadata.csv',
      './errors.csv',
      './README.md',
      './A71EV2A_combined.sdf',
      './smiles.smi',
    ]) {
      expect(names).toContain(n);
    }
    expect(names).toContain('./aligned_files/A0001a/A0001a.pdb');
    expect(names).toContain('./aligned_files/A0001a/A0001a_apo-desolv.pdb');
    expect(names.some((n) => n.startsWith('./crystallographic_files/'))).toBe(false);
    const metadata = files.get('./metadata.csv')?.toString('utf8') ?? '';
    expect(metadata.split('\n')[0]).toMatch(/^"Code","Long code","Experiment code","Compound code","Smiles"/);
    expect(metadata.trimEnd().split('\n')).toHaveLength(1 + 6);
    const placeholders = names.filter((n) => n.endsWith('_FILE_NOT_IN_UPLOAD'));
    const errors = (files.get('./errors.csv')?.toString('utf8') ?? '').trimEnd().split('\n');
    expect(errors[0]).toBe('Param,Code,File not found when assembling download');
    expect(errors).toHaveLength(1 + placeholders.length);
    expect(files.get('./README.md')?.toString('utf8')).toContain(JSON.stringify(body));

    const again = await s.post(body);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ file_url: fileUrl });
    expect(sim.stats.buildsStarted).toBe(1);
    const head = await s.request(`/api/download_structures/?file_url=${encodeURIComponent(fileUrl)}`, {
      method: 'HEAD',
    });
    expect(head.headers.get('content-length')).toBe(String(bytes.byteLength));
  });

  it('builds a zip with relative names for use_zip, selects observations, and honours the flags', async () => {
    const { sim, base, clock } = await serve();
    const s = session(base);
    const { fileUrl } = await build(s, clock, {
      target_name: 'Mpro',
      target_access_string: 'lb18145-1',
      proteins: 'A0002a, A9999z',
      use_zip: true,
      pdb_info: true,
      metadata_info: true,
      readme: false,
    });
    expect(fileUrl).toMatch(/\/Mpro\.zip$/);
    const res = await s.request(`/api/download_structures/?file_url=${encodeURIComponent(fileUrl)}`);
    const names = unzip(Buffer.from(await res.arrayBuffer())).map((f) => f.name);
    expect(names.some((n) => n.startsWith('./'))).toBe(false);
    expect(names).toContain('crystallographic_files/Mpro-x0002/Mpro-x0002.pdb');
    expect(names).not.toContain('README.md');
    expect(names).toContain('yaml_files/upload_1/config.yaml');
    expect(names.filter((n) => n.startsWith('aligned_files/'))).toEqual([]);
    expect(sim.stats.postDownloads).toBe(1);
  });

  it('reproduces the form-encoding trap: missing booleans read as false', async () => {
    const { base, clock } = await serve();
    const s = session(base);
    const res = await s.request('/api/download_structures/', {
      method: 'POST',
      body: new URLSearchParams({
        target_name: 'Mpro',
        target_access_string: 'lb18145-1',
        metadata_info: 'True',
      }),
    });
    expect(res.status).toBe(202);
    const { task_status_url } = (await res.json()) as { task_status_url: string };
    clock.t += 10_000;
    const fileUrl = (await s.json(task_status_url)).messages as string;
    const files = untar(
      new Uint8Array(
        await (
          await s.request(`/api/download_structures/?file_url=${encodeURIComponent(fileUrl)}`)
        ).arrayBuffer(),
      ),
    );
    expect([...files.keys()].filter((n) => !n.endsWith('/')).sort()).toEqual([
      './errors.csv',
      './metadata.csv',
    ]);
  });

  it('answers the business errors of §4.4 with their exact shapes', async () => {
    const { sim, base } = await serve();
    const anon = session(base);
    const cases: Array<[Record<string, unknown>, number, unknown]> = [
      [
        { target_name: 'Mpro', target_access_string: 'lb18145-1', cif_info: 'maybe' },
        400,
        { cif_info: ['Must be a valid boolean.'] },
      ],
      [
        { target_name: 'Mpro', target_access_string: 'lb18145-1', proteins: 'x'.repeat(5001) },
        400,
        {
          proteins: ['Ensure this field has no more than 5000 characters.'],
        },
      ],
      [
        { target_name: 'Mpro', target_access_string: 'lb18145-1', readme: null },
        400,
        { readme: ['This field may not be null.'] },
      ],
      [{ target_name: 'Mpro' }, 404, { message: 'Project "None" does not exist' }],
      [
        { target_name: 'Mpro', target_access_string: 'sw30864-12' },
        404,
        { message: 'User "|anon|" is not a member of sw30864-12' },
      ],
      [
        { target_name: 'Nope', target_access_string: 'lb18145-1' },
        404,
        { message: 'Target "Nope" does not exist under project lb18145-1' },
      ],
      [
        { target_name: 'Mpro', target_access_string: 'lb18145-1', proteins: 'Z1' },
        404,
        {
          message: "Please enter list of valid protein codes for target: Mpro, proteins: ['Z1']",
        },
      ],
      [
        { file_url: '/code/media/downloads/x/y.tar.gz' },
        400,
        { message: 'file_url should only be provided for static files' },
      ],
    ];
    for (const [body, status, answer] of cases) {
      const res = await anon.post(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(await res.json()).toEqual(answer);
    }
    const outsider = session(base, sim.tokenFor('outsider'));
    const res = await outsider.post({ target_name: 'Mpro', target_access_string: 'sw30864-12' });
    expect(await res.json()).toEqual({ message: 'User "outsider" is not a member of sw30864-12' });
    expect(sim.stats.buildsStarted).toBe(0);
  });

  it('fills the queue (429 without Retry-After), fails builds, loses tasks, and checks task permissions', async () => {
    const { sim, base, clock } = await serve({ maxConcurrentBuilds: 1, lostAfterMs: 60_000 });
    const demo = session(base, sim.tokenFor('demo'));
    sim.setTargetOutcome('NSP3', 'lb00000-1', 'failure');
    const first = await demo.post({ target_name: 'NSP3', target_access_string: 'lb00000-1' });
    const taskUrl = ((await first.json()) as { task_status_url: string }).task_status_url;
    const full = await demo.post({ target_name: 'Mpro', target_access_string: 'lb18145-1' });
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toBeNull();
    expect(await full.json()).toEqual({
      message: 'Fragalysis is serving too many download requests. Please try again later.',
    });

    expect((await session(base).request(taskUrl)).status).toBe(403);
    const outsider = await session(base, sim.tokenFor('outsider')).request(taskUrl);
    expect(await outsider.json()).toEqual({ error: 'You are not a member of the proposal lb00000-1' });
    clock.t += 10_000;
    const failed = await demo.json(taskUrl);
    expect(failed).toMatchObject({ started: true, finished: true, status: 'FAILED' });
    expect(String(failed.messages)).toMatch(/failed/i);

    sim.setTargetOutcome('Mpro', 'lb18145-1', 'lost');
    const lost = await demo.post({ target_name: 'Mpro', target_access_string: 'lb18145-1' });
    const lostUrl = ((await lost.json()) as { task_status_url: string }).task_status_url;
    clock.t += 30_000;
    expect(await demo.json(lostUrl)).toEqual({
      started: false,
      finished: false,
      status: 'UNKNOWN',
      messages: [],
    });
    clock.t += 30_000;
    const declared = await demo.json(lostUrl);
    expect(declared).toMatchObject({ finished: true, status: 'FAILED' });
    expect(Array.isArray(declared.messages)).toBe(true);
    expect(await demo.json('/viewer/task_status/00000000-0000-4000-a000-000000000000/')).toMatchObject({
      status: 'UNKNOWN',
    });
    expect((await demo.request('/viewer/task_status/not-a-uuid/')).status).toBe(404);
  });

  it('answers 500 for an archive deleted from disk and 404 for an unknown file_url', async () => {
    const { sim, base, clock } = await serve();
    const s = session(base);
    const { fileUrl } = await build(s, clock, { target_name: 'Mpro', target_access_string: 'lb18145-1' });
    expect(
      (await s.request('/api/download_structures/?file_url=/code/media/downloads/a/b.tar.gz')).status,
    ).toBe(404);
    expect((await s.request('/api/download_structures/')).status).toBe(404);
    sim.expireArchives();
    const gone = await s.request(`/api/download_structures/?file_url=${encodeURIComponent(fileUrl)}`);
    expect(gone.status).toBe(500);
  });

  it('answers at once with a .zip on an old (pre-2025.09) server', async () => {
    const { base } = await serve({ legacyImmediate: true });
    const res = await session(base).post({
      target_name: 'Mpro',
      target_access_string: 'lb18145-1',
      metadata_info: true,
    });
    expect(res.status).toBe(200);
    const { file_url } = (await res.json()) as { file_url: string };
    expect(file_url).toMatch(/\/Mpro\.zip$/);
    const archive = await session(base).request(
      `/api/download_structures/?file_url=${encodeURIComponent(file_url)}`,
    );
    expect(unzip(Buffer.from(await archive.arrayBuffer())).map((f) => f.name)).toContain('metadata.csv');
  });
});

describe('Fragalysis simulator: the 2024 shapes', () => {
  it('leaves out project_title and settings, and names the authenticator block `version`', async () => {
    const { sim, base } = await serve({ oldServer: true });
    const s = session(base, sim.tokenFor('demo'));
    const targets = (await s.json('/api/targets/')).results as Array<Record<string, unknown>>;
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) {
      expect(t).not.toHaveProperty('project_title');
      expect(t).not.toHaveProperty('settings');
      expect(typeof t.project).toBe('number');
    }
    const user = await s.json('/api/user/');
    expect(user).toHaveProperty('version');
    expect(user).not.toHaveProperty('authenticator');
  });
});

describe('Fragalysis simulator: uploads, observations, compounds', () => {
  it('keeps the upload history per (title, TAS) and adds new uploads', async () => {
    const { sim, base } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    const rows = (await s.json('/api/target_experiment_uploads/')).results as Array<Record<string, unknown>>;
    const mpro = rows.filter((r) => r.target_name === 'Mpro');
    expect(new Set(mpro.map((r) => r.proposal_number))).toEqual(new Set(['lb18145-1', 'sw30864-12']));
    const before = rows.filter((r) => r.proposal_number === 'lb18145-1').length;
    sim.addUpload('Mpro', 'lb18145-1');
    const after = (await s.json('/api/target_experiment_uploads/')).results as Array<Record<string, unknown>>;
    const mine = after.filter((r) => r.proposal_number === 'lb18145-1');
    expect(mine).toHaveLength(before + 1);
    expect(mine.at(-1)).toMatchObject({ upload_version: before + 1, target_name: 'Mpro' });
    const tarball = await fetch(mine.at(-1)?.tarball as string);
    expect(tarball.headers.get('content-type')).toBe('application/x-pilot');
  });

  it('serves observations with SMILES per target id, and compound sets with their zip', async () => {
    const { sim, base } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    const obs = (await s.json('/api/site_observations/?target=3')).results as Array<Record<string, unknown>>;
    expect(obs).toHaveLength(5);
    expect(obs.every((o) => typeof o.smiles === 'string' && /^A\d{4}[ab]$/.test(String(o.code)))).toBe(true);
    const sets = (await s.json('/api/compound-sets/?target=1')).results as Array<{ id: number }>;
    expect(typeof sets[0]?.id).toBe('number');
    expect(sets).toHaveLength(1);
    const zip = await s.request(`/api/compound-sets/${sets[0]?.id}/download/`);
    expect(zip.headers.get('content-type')).toBe('application/zip');
    const hidden = await session(base).request('/api/compound-sets/104/download/');
    expect(hidden.status).toBe(403);
    const unknown = await s.request('/api/compound-sets/999/download/');
    expect(unknown.status).toBe(404);
  });
});
