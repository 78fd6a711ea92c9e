import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import { unzip } from '../icsd/icsd-test-helpers.js';
import { writeSdf } from './csets-content.js';
import { createFragalysisSimulator, type FragalysisSimulatorOptions } from './fragalysis-simulator.js';

/** The compound sets of the simulated Fragalysis (spec §4.13, §11.4; issue 14). */

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(options: FragalysisSimulatorOptions = {}) {
  const clock = { t: 1_000_000 };
  const sim = createFragalysisSimulator({ seed: 5, now: () => clock.t, buildMs: 300, ...options });
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  return { sim, base: server.url, clock };
}

/** A browser-like session: its cookies, and the CSRF token from the landing page on writes. */
function session(base: string, token?: string) {
  const cookies = new Map<string, string>(token ? [['sessionid', token]] : []);
  const request = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (cookies.size) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(`${base}${path}`, { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';') as [string];
      cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
    return res;
  };
  const write = async (path: string, body: BodyInit, headers: Record<string, string> = {}) => {
    if (token && !cookies.has('csrftoken')) await request('/viewer/react/landing/');
    const csrf = cookies.get('csrftoken');
    return request(path, {
      method: 'POST',
      body,
      headers: {
        ...(csrf ? { 'x-csrftoken': csrf, referer: `${base}/viewer/react/landing/` } : {}),
        ...headers,
      },
    });
  };
  return {
    request,
    json: async (path: string) => (await request(path)).json() as Promise<Record<string, unknown>>,
    write,
    upload(fields: Record<string, string | Blob>) {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) {
        if (typeof v === 'string') form.set(k, v);
        else form.set(k, v, k === 'sdf_file' ? 'set.sdf' : 'pdbs.zip');
      }
      return write('/viewer/upload_cset/', form);
    },
  };
}

const HEADER = {
  submitter_name: 'A',
  submitter_email: 'a@example.org',
  submitter_institution: 'Lab',
  generation_date: '2026-01-01',
  method: 'dock2',
};

function goodSdf(codes = ['A0001a']): Blob {
  return new Blob([
    writeSdf(
      HEADER,
      codes.map((c, i) => ({ name: `mol-${i}`, props: { ref_mols: c, 'original SMILES': 'CCO', score: i } })),
    ),
  ]);
}

const names = (body: Record<string, unknown>) => (body.results as Array<{ name: string }>).map((s) => s.name);

describe('compound sets of the simulated Fragalysis', () => {
  it('lists sets with an exact name filter, target ids and a case-insensitive project filter', async () => {
    const { sim, base } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    expect(names(await s.json('/api/compound-sets/'))).toEqual([
      'Mpro-set1',
      'A71EV2A-set1',
      'Mpro-set1-sw30864-12',
      'NSP3-set1',
    ]);
    expect(names(await s.json('/api/compound-sets/?name=Mpro-set1'))).toEqual(['Mpro-set1']);
    expect(names(await s.json('/api/compound-sets/?name=mpro-set1'))).toEqual([]);
    expect(names(await s.json('/api/compound-sets/?target=4'))).toEqual(['NSP3-set1']);
    expect(names(await s.json('/api/compound-sets/?project=SW30864'))).toEqual(['Mpro-set1-sw30864-12']);
    expect(names(await session(base).json('/api/compound-sets/'))).toEqual(['Mpro-set1', 'A71EV2A-set1']);
    const old = await serve({ oldServer: true });
    expect(names(await session(old.base).json('/api/compound-sets/?name=Mpro-set1'))).toHaveLength(2);
  });

  it('downloads a set as an SDF, or as a zip with _MISSING placeholders, with 404 and 403 as the server', async () => {
    const { sim, base } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    const sdf = await s.write('/api/computedset_download/', JSON.stringify({ name: 'NSP3-set1' }), {
      'content-type': 'application/json',
    });
    expect(sdf.headers.get('content-type')).toBe('text/plain');
    expect(sdf.headers.get('content-disposition')).toBe('attachment; filename="NSP3-set1.sdf"');
    const text = await sdf.text();
    expect(text.startsWith('ver_1.2\n')).toBe(true);
    expect(text.match(/^\$\$\$\$$/gm)).toHaveLength(4);
    const zip = await s.write('/api/computedset_download/', JSON.stringify({ name: 'Mpro-set1' }), {
      'content-type': 'application/json',
    });
    expect(zip.headers.get('content-type')).toBe('application/zip');
    const entries = unzip(Buffer.from(await zip.arrayBuffer()))
      .map((f) => f.name)
      .sort();
    expect(entries).toEqual(['A0001a.pdb', 'A0002a.pdb_MISSING', 'A0003b.pdb', 'Mpro-set1.sdf']);
    const unknown = await s.write('/api/computedset_download/', JSON.stringify({ name: 'nope' }));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "ComputedSet 'nope' not found" });
    const hidden = await session(base).write(
      '/api/computedset_download/',
      JSON.stringify({ name: 'NSP3-set1' }),
    );
    expect(hidden.status).toBe(403);
  });

  it('serves the molecules of a set with their numerical and text scores', async () => {
    const { base } = await serve();
    const body = await session(base).json('/api/compound-mols-scores/?computed_set=A71EV2A-set1');
    const rows = body.results as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      name: 'A71EV2A-m1',
      computed_set: 'A71EV2A-set1',
      numerical_scores: { docking_score: -5 },
      text_scores: { comment: 'best, "by far"' },
    });
  });

  it('answers the upload form: 302 for missing fields or an unknown target, the form with an error for non-members', async () => {
    const { sim, base } = await serve();
    const demo = session(base, sim.tokenFor('demo'));
    const missing = await demo.upload({ target_name: 'NSP3', submit_choice: 'V', sdf_file: goodSdf() });
    expect(missing.status).toBe(302);
    expect(missing.headers.get('location')).toBe('/viewer/upload_cset/');
    const unknown = await demo.upload({
      target_name: 'Nope',
      proposal_ref: 'lb00000-1',
      submit_choice: 'V',
      sdf_file: goodSdf(),
    });
    expect(unknown.status).toBe(302);
    const outsider = await session(base, sim.tokenFor('outsider')).upload({
      target_name: 'NSP3',
      proposal_ref: 'lb00000-1',
      submit_choice: 'U',
      sdf_file: goodSdf(),
    });
    expect(outsider.status).toBe(200);
    expect(await outsider.text()).toMatch(
      /<ul class="errorlist"><li>You cannot do &#39;Upload&#39;.*not a member/,
    );
    // Writes of a session need the CSRF token, as everywhere.
    const form = new FormData();
    form.set('target_name', 'NSP3');
    const bare = await fetch(`${base}/viewer/upload_cset/`, {
      method: 'POST',
      body: form,
      headers: { cookie: `sessionid=${sim.tokenFor('demo')}` },
    });
    expect(bare.status).toBe(403);
  });

  it('runs a validation task through PENDING and STARTED to SUCCESS, with a pandas table of the problems', async () => {
    const { sim, base, clock } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    const bad = new Blob([
      writeSdf({ ...HEADER, submitter_email: '' }, [
        { name: 'ok-1', props: { ref_mols: 'A0001a', 'original SMILES': 'CC' } },
        { name: 'bad<name>', props: { ref_mols: 'A0001a,Z9999z' } },
      ]),
    ]);
    const page = await s.upload({
      target_name: 'NSP3',
      proposal_ref: 'lb00000-1',
      submit_choice: 'V',
      sdf_file: bad,
    });
    const url = /"(\/viewer\/validate_task\/[0-9a-f-]{36}\/)"/.exec(await page.text())?.[1] as string;
    expect(url).toBeDefined();
    expect(await s.json(url)).toMatchObject({ validate_task_status: 'PENDING' });
    clock.t += 150;
    expect(await s.json(url)).toMatchObject({ validate_task_status: 'STARTED' });
    clock.t += 200;
    const done = await s.json(url);
    expect(done).toMatchObject({ validate_task_status: 'SUCCESS', validated: 'Not validated' });
    const html = done.html as string;
    expect(html).toContain('<table border="1" class="dataframe">');
    expect(html).toContain('<td>submitter_email</td>');
    expect(html).toContain('<td>bad&lt;name&gt;</td>');
    expect(html).toContain('<td>Z9999z is not a known observation of NSP3</td>');
    expect(html).toContain('<td>original SMILES field not found!</td>');
    // An unknown task id is PENDING, as Celery says.
    expect(await s.json('/viewer/validate_task/00000000-0000-4000-a000-000000000000/')).toMatchObject({
      validate_task_status: 'PENDING',
    });
  });

  it('reports a file that is not an SDF as a File error', async () => {
    const { sim, base, clock } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    const page = await s.upload({
      target_name: 'NSP3',
      proposal_ref: 'lb00000-1',
      submit_choice: 'V',
      sdf_file: new Blob(['hello, world\n']),
    });
    const url = /"(\/viewer\/validate_task\/[^"]+)"/.exec(await page.text())?.[1] as string;
    clock.t += 1000;
    expect((await s.json(url)).html).toContain('<td>File error</td>');
  });

  it('adds a new set when an upload succeeds, with its results links', async () => {
    const { sim, base, clock } = await serve();
    const s = session(base, sim.tokenFor('demo'));
    const page = await s.upload({
      target_name: 'NSP3',
      proposal_ref: 'lb00000-1',
      submit_choice: 'U',
      update_set: 'None',
      sdf_file: goodSdf(['A0001a', 'A0002a']),
    });
    const url = /"(\/viewer\/upload_task\/[^"]+)"/.exec(await page.text())?.[1] as string;
    expect(names(await s.json('/api/compound-sets/?name=NSP3-dock2'))).toEqual([]);
    clock.t += 1000;
    expect(await s.json(url)).toMatchObject({
      upload_task_status: 'SUCCESS',
      validated: 'Validated',
      results: { cset_download_url: '/viewer/compound_set/NSP3-dock2' },
    });
    expect(names(await s.json('/api/compound-sets/?name=NSP3-dock2'))).toEqual(['NSP3-dock2']);
    const scores = await s.json('/api/compound-mols-scores/?computed_set=NSP3-dock2');
    expect((scores.results as unknown[]).length).toBe(2);
  });

  it('keeps a task PENDING for ever, or ends it in FAILURE with a traceback, when told to', async () => {
    for (const [mode, expected] of [
      ['never', { validate_task_status: 'PENDING' }],
      ['failure', { validate_task_status: 'FAILURE' }],
    ] as const) {
      const { sim, base, clock } = await serve({ csetTasks: mode });
      const s = session(base, sim.tokenFor('demo'));
      const page = await s.upload({
        target_name: 'NSP3',
        proposal_ref: 'lb00000-1',
        submit_choice: 'V',
        sdf_file: goodSdf(),
      });
      const url = /"(\/viewer\/validate_task\/[^"]+)"/.exec(await page.text())?.[1] as string;
      clock.t += 60_000;
      const body = await s.json(url);
      expect(body).toMatchObject(expected);
      if (mode === 'failure') expect(body.validate_traceback).toMatch(/ValueError/);
    }
  });
});
