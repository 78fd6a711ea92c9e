import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import { createFragalysisSimulator, type FragalysisSimulator } from './fragalysis-simulator.js';
import { xcaBundle } from './xca-bundle.js';

/** Issue 14 (xca): bearer tokens (spec §11.2) and XCA uploads (spec §11.5) on the simulator, over real sockets. */

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(): Promise<{ sim: FragalysisSimulator; base: string; clock: { t: number } }> {
  const clock = { t: 1_000_000 };
  const sim = createFragalysisSimulator({ seed: 5, now: () => clock.t, buildMs: 100 });
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  return { sim, base: server.url, clock };
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function upload(
  base: string,
  headers: Record<string, string>,
  fields: { tas?: string; file?: Uint8Array<ArrayBuffer>; name?: string; sha256?: string; email?: string },
): Promise<Response> {
  const form = new FormData();
  if (fields.tas !== undefined) form.append('target_access_string', fields.tas);
  if (fields.file) form.append('file', new Blob([fields.file]), fields.name ?? 'bundle.tgz');
  if (fields.sha256) form.append('sha256checksum', fields.sha256);
  if (fields.email) form.append('contact_email', fields.email);
  return fetch(`${base}/api/upload_target_experiments/`, {
    method: 'POST',
    headers,
    body: form,
    redirect: 'manual',
  });
}

async function taskStatus(base: string, url: string, headers: Record<string, string>) {
  const r = await fetch(`${base}${url}`, { headers });
  return (await r.json()) as { started: boolean; finished: boolean; status: string; messages: string[] };
}

describe('bearer tokens', () => {
  it('map a valid access token to its user, refuse others with 403 detail, and let a session win', async () => {
    const { sim, base } = await serve();
    const me = await (
      await fetch(`${base}/api/user/`, { headers: bearer(sim.accessTokenFor('demo')) })
    ).json();
    expect(me).toMatchObject({ user: 'demo', target_access: expect.arrayContaining(['sw30864-12']) });

    const bad = await fetch(`${base}/api/targets/`, { headers: bearer('not-a-real-token') });
    expect(bad.status).toBe(403);
    expect(await bad.json()).toEqual({ detail: 'Token verification failed' });

    const malformed = await fetch(`${base}/api/user/`, { headers: { authorization: 'Bearer' } });
    expect(malformed.status).toBe(403);
    expect(((await malformed.json()) as { detail: string }).detail).toMatch(/^Invalid "bearer" header/);

    sim.expireAccessToken('demo');
    const expired = await fetch(`${base}/api/user/`, { headers: bearer(sim.accessTokenFor('demo')) });
    expect(expired.status).toBe(403);

    // A valid session is tried first: the (bad) bearer header is never looked at.
    const both = await fetch(`${base}/api/user/`, {
      headers: { ...bearer('not-a-real-token'), cookie: `sessionid=${sim.tokenFor('outsider')}` },
    });
    expect(both.status).toBe(200);
    expect(((await both.json()) as { user: string }).user).toBe('outsider');
  });

  it('needs no CSRF for a bearer write', async () => {
    const { sim, base } = await serve();
    const r = await fetch(`${base}/api/download_structures/`, {
      method: 'POST',
      headers: { ...bearer(sim.accessTokenFor('demo')), 'content-type': 'application/json' },
      body: JSON.stringify({ target_name: 'Mpro', target_access_string: 'sw30864-12' }),
    });
    expect(r.status).toBe(202);
    expect(sim.stats.csrfBootstraps).toBe(0);
  });
});

describe('XCA uploads', () => {
  it('loads a bundle: 202, RUNNING then SUCCESS with LEVEL: lines, and a new upload row', async () => {
    const { sim, base, clock } = await serve();
    const auth = bearer(sim.accessTokenFor('demo'));
    const file = xcaBundle({ target: 'Mpro', version: 7 });
    const sha256 = createHash('sha256').update(file).digest('hex');
    const r = await upload(base, auth, { tas: 'sw30864-12', file, sha256, email: 'me@example.org' });
    expect(r.status).toBe(202);
    const { task_status_url: url } = (await r.json()) as { task_status_url: string };
    expect(url).toMatch(/^\/viewer\/task_status\/[0-9a-f-]{36}\/$/);

    const running = await taskStatus(base, url, auth);
    expect(running).toMatchObject({ started: true, finished: false, status: 'RUNNING' });
    clock.t += 200;
    const done = await taskStatus(base, url, auth);
    expect(done).toMatchObject({ finished: true, status: 'SUCCESS' });
    expect(done.messages.at(-2)).toBe('INFO: bundle.tgz uploaded successfully');
    expect(done.messages.every((m) => /^(INFO|WARNING|ERROR): |^SUCCESS$/.test(m))).toBe(true);

    const rows = (await (
      await fetch(`${base}/api/target_experiment_uploads/`, { headers: auth })
    ).json()) as { results: Array<{ target_name: string; proposal_number: string; upload_version: number }> };
    const mine = rows.results.filter((u) => u.target_name === 'Mpro' && u.proposal_number === 'sw30864-12');
    expect(mine.map((u) => u.upload_version).at(-1)).toBe(7);

    // The same version again: the loader fails it.
    const again = await upload(base, auth, { tas: 'sw30864-12', file });
    const url2 = ((await again.json()) as { task_status_url: string }).task_status_url;
    clock.t += 200;
    const failed = await taskStatus(base, url2, auth);
    expect(failed.status).toBe('FAILED');
    expect(failed.messages.at(-1)).toBe('FAILED');
    expect(failed.messages.join('\n')).toMatch(/ERROR: upload_7 of Mpro already uploaded/);
  });

  it('fails a bundle without config or upload folder, and answers 302, 403 and 400 as the server does', async () => {
    const { sim, base, clock } = await serve();
    const auth = bearer(sim.accessTokenFor('demo'));
    const noConfig = await upload(base, auth, {
      tas: 'sw30864-12',
      file: xcaBundle({ target: 'Mpro', version: 9, omit: ['config.yaml'] }),
    });
    const url = ((await noConfig.json()) as { task_status_url: string }).task_status_url;
    clock.t += 200;
    expect((await taskStatus(base, url, auth)).messages).toContain('ERROR: No config*.yaml in upload_9');

    const anonymous = await upload(base, {}, { tas: 'sw30864-12', file: new Uint8Array(10) });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toMatch(/^\/accounts\/login\//);

    const outsider = await upload(base, bearer(sim.accessTokenFor('outsider')), {
      tas: 'sw30864-12',
      file: new Uint8Array(10),
    });
    expect(outsider.status).toBe(403);
    expect(await outsider.json()).toEqual({
      target_access_string: ["You are not authorized to upload data to 'sw30864-12'"],
    });

    const missing = await upload(base, auth, {});
    expect(missing.status).toBe(400);
    expect(Object.keys((await missing.json()) as object).sort()).toEqual(['file', 'target_access_string']);

    const checksum = await upload(base, auth, {
      tas: 'sw30864-12',
      file: new Uint8Array(10),
      sha256: '0'.repeat(64),
    });
    expect(checksum.status).toBe(400);
    expect(await checksum.json()).toHaveProperty('sha256checksum');
  });

  it('needs CSRF for a session upload, and creates a new target on its first upload', async () => {
    const { sim, base, clock } = await serve();
    const cookie = `sessionid=${sim.tokenFor('demo')}`;
    const file = xcaBundle({ target: 'NewTarget', version: 1 });
    const noCsrf = await upload(base, { cookie }, { tas: 'lb00000-1', file });
    expect(noCsrf.status).toBe(403);
    const landing = await fetch(`${base}/viewer/react/landing/`);
    const csrf = /csrftoken=([^;]+)/.exec(landing.headers.get('set-cookie') ?? '')?.[1] as string;
    const ok = await upload(
      base,
      { cookie: `${cookie}; csrftoken=${csrf}`, 'x-csrftoken': csrf },
      { tas: 'lb00000-1', file },
    );
    expect(ok.status).toBe(202);
    clock.t += 200;
    // Any request settles the finished load.
    await fetch(`${base}/api/targets/`, { headers: { cookie } });
    expect(sim.targets.find((t) => t.title === 'NewTarget')?.uploads.map((u) => u.version)).toEqual([1]);
  });
});
