import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSimCli } from './sim-cli.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } },
  };
}

describe('sciport-sim', () => {
  it('serves the ICSD simulator, prints one JSON line, and closes on abort', async () => {
    const { out, err, io } = capture();
    const controller = new AbortController();
    let resolveListening: (info: Readonly<Record<string, unknown>>) => void = () => undefined;
    const listening = new Promise<Readonly<Record<string, unknown>>>((resolve) => {
      resolveListening = resolve;
    });
    const done = runSimCli(
      ['icsd', '--entries', '50', '--seed', '3', '--cifs-per-session', 'unlimited', '--latency', '1'],
      {
        ...io,
        signal: controller.signal,
        onListening: resolveListening,
      },
    );
    const info = await listening;
    expect(out).toHaveLength(1);
    const line = JSON.parse(out[0]!) as Record<string, string | number>;
    expect(Object.keys(line)).toEqual([
      'url',
      'service',
      'baseUrl',
      'username',
      'password',
      'entries',
      'maxCollectionCode',
    ]);
    expect(line.entries).toBe(50);
    expect(line.maxCollectionCode).toBeLessThanOrEqual(200);
    expect(line).toEqual(info);
    expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line).toMatchObject({
      service: 'icsd',
      baseUrl: `${line.url}/ws`,
      username: 'demo',
      password: 'demo-password',
    });

    const res = await fetch(`${line.baseUrl}/auth/login`, {
      method: 'POST',
      body: new URLSearchParams({ loginid: String(line.username), password: String(line.password) }),
    });
    expect(await res.text()).toBe('Authentication successful');

    controller.abort();
    expect(await done).toBe(0);
    await expect(fetch(`${line.baseUrl}/auth/login`, { method: 'POST' })).rejects.toThrow();
    expect(err).toEqual([]);
  });

  it('serves the Fragalysis simulator with the demo token, its targets and an archive file from disk', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(tmpdir(), 'sim-cli-'));
    const file = path.join(dir, 'big.tar.gz');
    await writeFile(file, Buffer.from('not really a tarball'));
    const { out, io } = capture();
    const controller = new AbortController();
    let resolveListening: (info: Readonly<Record<string, unknown>>) => void = () => undefined;
    const listening = new Promise<Readonly<Record<string, unknown>>>((resolve) => {
      resolveListening = resolve;
    });
    const done = runSimCli(['fragalysis', '--mode', 'immediate', '--archive', `Big|lb99999-1=${file}`], {
      ...io,
      signal: controller.signal,
      onListening: resolveListening,
    });
    const info = (await listening) as {
      baseUrl: string;
      token: string;
      targets: Array<{ title: string; tas: string }>;
    };
    expect(JSON.parse(out[0]!)).toEqual(info);
    expect(info.targets).toContainEqual({ title: 'Big', tas: 'lb99999-1', public: false });
    const cookie = { cookie: `sessionid=${info.token}` };
    const landing = await fetch(`${info.baseUrl}/viewer/react/landing/`);
    const csrf = /csrftoken=([^;]+)/.exec(landing.headers.get('set-cookie') ?? '')?.[1] ?? '';
    const post = await fetch(`${info.baseUrl}/api/download_structures/`, {
      method: 'POST',
      headers: {
        ...cookie,
        cookie: `${cookie.cookie}; csrftoken=${csrf}`,
        'x-csrftoken': csrf,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ target_name: 'Big', target_access_string: 'lb99999-1' }),
    });
    const { file_url } = (await post.json()) as { file_url: string };
    const archive = await fetch(
      `${info.baseUrl}/api/download_structures/?file_url=${encodeURIComponent(file_url)}`,
    );
    expect(await archive.text()).toBe('not really a tarball');
    controller.abort();
    expect(await done).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the Crucible simulator: v2 and v1 over the same data, with the demo key', async () => {
    const { out, io } = capture();
    const controller = new AbortController();
    let resolveListening: (info: Readonly<Record<string, unknown>>) => void = () => undefined;
    const listening = new Promise<Readonly<Record<string, unknown>>>((resolve) => {
      resolveListening = resolve;
    });
    const done = runSimCli(['crucible', '--datasets', '7'], {
      ...io,
      signal: controller.signal,
      onListening: resolveListening,
    });
    const info = (await listening) as { apiUrl: string; apiUrlV1: string; apiKey: string; datasets: number };
    expect(JSON.parse(out[0]!)).toEqual(info);
    expect(info.datasets).toBe(7);
    const auth = { authorization: `Bearer ${info.apiKey}` };
    const account = await fetch(`${info.apiUrl}/account`, { headers: auth });
    expect(account.status).toBe(200);
    const v1 = await fetch(`${info.apiUrlV1}/account`, { headers: auth });
    expect(v1.status).toBe(200);
    const anonymous = await fetch(`${info.apiUrl}/account`);
    expect(anonymous.status).toBe(401);
    controller.abort();
    expect(await done).toBe(0);
  });

  it('offers the multipart upload with --multipart on, and names the storage host to point clients at', async () => {
    for (const [flag, offered] of [
      ['on', true],
      ['off', false],
    ] as const) {
      const { io } = capture();
      const controller = new AbortController();
      let resolveListening: (info: Readonly<Record<string, unknown>>) => void = () => undefined;
      const listening = new Promise<Readonly<Record<string, unknown>>>((resolve) => {
        resolveListening = resolve;
      });
      const done = runSimCli(['crucible', '--datasets', '1', '--multipart', flag], {
        ...io,
        signal: controller.signal,
        onListening: resolveListening,
      });
      const info = (await listening) as {
        url: string;
        apiUrl: string;
        apiKey: string;
        storageEmulatorHost?: string;
      };
      expect(info.storageEmulatorHost).toBe(offered ? `${info.url}/storage` : undefined);
      const headers = { authorization: `Bearer ${info.apiKey}`, 'content-type': 'application/json' };
      const created = await fetch(`${info.apiUrl}/datasets`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ dataset_name: 'big', project_id: 'DEMO-0001' }),
      });
      const ds = (await created.json()) as { unique_id: string };
      const init = await fetch(`${info.apiUrl}/datasets/${ds.unique_id}/upload/initiate/multipart`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          filename: 'x.bin',
          size: 5,
          sha256_hash: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
        }),
      });
      if (offered) {
        expect(init.status).toBe(200);
        expect(((await init.json()) as { upload_id: string }).upload_id).toEqual(expect.any(String));
      } else {
        expect(init.status).toBe(501);
        await init.body?.cancel();
      }
      controller.abort();
      expect(await done).toBe(0);
    }
  });

  it('removes the uploaded bytes it kept when it stops', async () => {
    const tmp = await mkdtemp(path.join(tmpdir(), 'sciport-sim-cli-'));
    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const { io } = capture();
      const controller = new AbortController();
      let resolveListening: (info: Readonly<Record<string, unknown>>) => void = () => undefined;
      const listening = new Promise<Readonly<Record<string, unknown>>>((resolve) => {
        resolveListening = resolve;
      });
      const done = runSimCli(['crucible', '--datasets', '1'], {
        ...io,
        signal: controller.signal,
        onListening: resolveListening,
      });
      const info = (await listening) as { apiUrl: string; apiKey: string };
      const headers = { authorization: `Bearer ${info.apiKey}`, 'content-type': 'application/json' };
      const post = async (p: string, body: unknown) =>
        (await fetch(`${info.apiUrl}/${p}`, { method: 'POST', headers, body: JSON.stringify(body) })).json();
      const ds = (await post('datasets', { dataset_name: 'tmp', project_id: 'DEMO-0001' })) as {
        unique_id: string;
      };
      const init = (await post(`datasets/${ds.unique_id}/upload/initiate`, {
        filename: 'x.bin',
        size: 5,
        // SHA-256 of "hello"
        sha256_hash: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
      })) as { resumable_uri: string };
      const put = await fetch(init.resumable_uri, {
        method: 'PUT',
        headers: { 'content-range': 'bytes 0-4/5' },
        body: 'hello',
      });
      expect(put.status).toBe(200);
      expect((await readdir(tmp)).length).toBeGreaterThan(0);
      controller.abort();
      expect(await done).toBe(0);
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('closes when its lifetime ends', async () => {
    const { io, err } = capture();
    expect(await runSimCli(['icsd', '--entries', '5', '--lifetime', '50'], io)).toBe(0);
    expect(err.join('')).toMatch(/lifetime/);
  });

  it('answers usage errors with exit code 2 and help with 0', async () => {
    for (const argv of [
      [],
      ['crucible', '--datasets', 'many'],
      ['crucible', '--multipart', 'maybe'],
      ['icsd', '--port', 'x'],
      ['icsd', '--bogus', '1'],
      ['icsd', '--fail-rate', '2'],
      ['fragalysis', '--mode', 'sync'],
      ['fragalysis', '--archive', 'no-separator'],
    ]) {
      const { io, err } = capture();
      expect(await runSimCli(argv, io)).toBe(2);
      expect(err.join('')).toMatch(/Usage: sciport-sim/);
    }
    const { io, out } = capture();
    expect(await runSimCli(['icsd', '--help'], io)).toBe(0);
    expect(out.join('')).toMatch(/--cifs-per-session/);
  });
});
