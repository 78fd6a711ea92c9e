import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, PermissionDeniedError, ServerError, UnsafeArchiveError } from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { filesUnder } from '../helpers.js';
import { asTar, TREE, tarGz, zip } from './archives.js';
import { connect, dir, mock, QUICK, useConformanceStack } from './harness.js';
import { BASE, htmlPage, json, TOKEN } from './server.js';

/** Conformance: fetching, saving and unpacking the archive, and the secrets around it (spec §3.1, §4.6, §4.7). */

useConformanceStack();

describe('fetching the archive (spec §4.6, §4.7)', () => {
  it('saves a tar.gz served as application/zip under the right name, and extracts its ./ members', async () => {
    const { stack, client } = connect();
    const result = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      ...QUICK,
    });
    expect(result.format).toBe('tar.gz');
    expect(result.archive.endsWith('.tar.gz')).toBe(true);
    const bytes = await readFile(result.archive);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    const get = stack.log.find((r) => r.method === 'GET' && r.url.pathname === '/api/download_structures/');
    expect(get?.url.searchParams.get('file_url')).toBe(result.fileUrl);
    expect(await filesUnder(result.extractedTo as string)).toEqual([
      'README.md',
      'aligned_files/A0001a/A0001a.pdb',
      'aligned_files/A0001a/event_file_FILE_NOT_IN_UPLOAD',
      'errors.csv',
      'metadata.csv',
    ]);
  });

  it('goes by the archive, not the request: a use_zip request handed a cached tar.gz is saved and unpacked as tar.gz', async () => {
    const { client } = connect();
    await client.archives.request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    const result = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      options: { useZip: true },
      ...QUICK,
    });
    expect(result.immediate).toBe(true);
    expect(result.format).toBe('tar.gz');
    expect(await filesUnder(result.extractedTo as string)).toContain('metadata.csv');
  });

  it('names the file after its bytes and Content-Disposition when the server path has no known suffix', async () => {
    const { stack, client } = connect();
    const fileUrl = '/code/media/downloads/0b6c3a52-5a61-4f0e-9a52-00000000abcd/Mpro';
    const bytes = zip(TREE);
    mock.use(
      http.post(`${BASE}/api/download_structures/`, () => json({ file_url: fileUrl })),
      http.get(`${BASE}/api/download_structures/`, ({ request }) => {
        stack.log.push({ method: 'GET', url: new URL(request.url), headers: request.headers, body: '' });
        return new HttpResponse(bytes, {
          headers: {
            'content-type': 'application/zip',
            'content-disposition': 'attachment; filename="Mpro.zip"',
            'content-length': String(bytes.byteLength),
          },
        });
      }),
    );
    const result = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      ...QUICK,
    });
    expect(result.format).toBe('zip');
    expect(result.archive).toBe(path.join(dir, 'Mpro_sw30864-12.zip'));
    expect((await readdir(dir)).sort()).toEqual([
      'Mpro_sw30864-12',
      'Mpro_sw30864-12.report.json',
      'Mpro_sw30864-12.zip',
    ]);
    expect(await filesUnder(result.extractedTo as string)).toContain('metadata.csv');
  });

  it('unpacks a zip whose names have no ./', async () => {
    const { client } = connect();
    const result = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      options: { useZip: true },
      ...QUICK,
    });
    expect(result.format).toBe('zip');
    expect(await filesUnder(result.extractedTo as string)).toContain('aligned_files/A0001a/A0001a.pdb');
  });

  it('starts a cut-short transfer again from zero (no Range support) and ends with a byte-identical file', async () => {
    const { stack, client } = connect({ truncate: 2 });
    const result = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    const expected = tarGz(asTar(TREE));
    const bytes = await readFile(result.archive);
    expect(Buffer.compare(bytes, Buffer.from(expected))).toBe(0);
    expect(result.bytes).toBe(expected.byteLength);
    const gets = stack.log.filter(
      (r) => r.method === 'GET' && r.url.pathname === '/api/download_structures/',
    );
    expect(gets).toHaveLength(3);
    // The server ignores Range anyway: none is sent.
    expect(gets.every((r) => r.headers.get('range') === null)).toBe(true);
    expect(await readdir(dir)).toEqual([
      path.basename(result.archive),
      `${path.basename(result.archive)}.report.json`,
    ]);
  });

  it('asks for a new build when the cached archive it was handed has been deleted meanwhile (500)', async () => {
    const { stack, client } = connect({ vanishOnOffer: true }, { maxRetries: 0 });
    const first = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    // The identical request is answered with the cached archive, which housekeeping deletes before the fetch.
    const second = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    expect(stack.builds.size).toBe(2);
    expect(second.fileUrl).not.toBe(first.fileUrl);
    expect(second.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(second.sha256).toBe(first.sha256);
    const fetches = stack.log.filter(
      (r) => r.method === 'GET' && r.url.pathname === '/api/download_structures/',
    );
    expect(fetches.map((r) => r.status)).toEqual([200, 500, 200]);
    expect(await readdir(dir)).toEqual(['Mpro_sw30864-12.tar.gz', 'Mpro_sw30864-12.tar.gz.report.json']);
  });

  it('re-fetches a preserved (static) download by its file_url', async () => {
    const { stack, client } = connect();
    const first = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      options: { staticLink: true },
      ...QUICK,
    });
    const again = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: path.join(dir, 'again'),
      options: { fileUrl: first.fileUrl },
      ...QUICK,
    });
    expect(again.immediate).toBe(true);
    expect(again.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(again.sha256).toBe(first.sha256);
    expect(stack.posts.at(-1)?.file_url).toBe(first.fileUrl);
  });

  it('explains a 500 on a freshly built archive as a missing archive', async () => {
    const { stack, client } = connect({}, { maxRetries: 0 });
    mock.use(
      http.get(`${BASE}/api/download_structures/`, async ({ request }) => {
        stack.log.push({ method: 'GET', url: new URL(request.url), headers: request.headers, body: '' });
        return htmlPage(500, '<h1>Server Error (500)</h1>');
      }),
    );
    const error = await client.archives
      .download({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as Error).message).toMatch(/no longer|deleted|expired/i);
    expect((error as Error).message).not.toMatch(/code\/media\/downloads/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reads the archive size with HEAD', async () => {
    const { client } = connect();
    const location = await client.archives.request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(await client.archives.size(location.fileUrl)).toBe(tarGz(asTar(TREE)).byteLength);
  });

  for (const [label, entries, format] of [
    [
      'a ../ member',
      [
        { name: './', type: 'dir' },
        { name: './../escaped.txt', data: 'x' },
      ],
      'tar.gz',
    ],
    ['an absolute member', [{ name: '/tmp/sciport-conformance-absolute.txt', data: 'x' }], 'tar.gz'],
    [
      'a symlink pointing out',
      [
        { name: './', type: 'dir' },
        { name: './link', type: 'symlink', link: '../../../etc' },
      ],
      'tar.gz',
    ],
    ['a zip ../ member', [{ name: '../escaped-zip.txt', data: 'x' }], 'zip'],
  ] as const) {
    it(`refuses ${label} and writes nothing outside the destination`, async () => {
      const { client } = connect();
      mock.use(
        http.get(`${BASE}/api/download_structures/`, ({ request }) => {
          const name = new URL(request.url).searchParams.get('file_url') ?? '';
          if (!name) return undefined;
          const bytes = format === 'zip' ? zip([...entries]) : tarGz([...entries]);
          return new HttpResponse(bytes, {
            headers: { 'content-type': 'application/zip', 'content-length': String(bytes.byteLength) },
          });
        }),
      );
      const dest = path.join(dir, 'out');
      const error = await client.archives
        .download({
          target: 'Mpro',
          tas: 'sw30864-12',
          destination: dest,
          extract: true,
          options: { useZip: format === 'zip' },
          ...QUICK,
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsafeArchiveError);
      expect(await readdir(dir)).toEqual(['out']);
      expect((await readdir(dest)).filter((n) => !n.endsWith('.tar.gz') && !n.endsWith('.zip'))).toEqual([]);
      await expect(stat('/tmp/sciport-conformance-absolute.txt')).rejects.toThrow();
    });
  }
});

describe('secrets (spec §3.1, §4.6)', () => {
  it('keeps the task uuid (the archive path’s directory) out of errors and events', async () => {
    const events: string[] = [];
    const { client } = connect(
      {
        polls: () => [
          { status: 502, body: { detail: 'Bad gateway' } },
          { status: 403, body: { error: 'You are not a member of the proposal sw30864-12' } },
        ],
      },
      { maxRetries: 0, onEvent: (e) => events.push(JSON.stringify(e)) },
    );
    const error = await client.archives
      .request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    const shown = `${(error as Error).message} ${JSON.stringify(error)} ${events.join(' ')}`;
    expect(events.some((e) => e.includes('task_status'))).toBe(true);
    expect(shown).not.toContain('0b6c3a52-5a61-4f0e-9a52-000000000001');
    expect(shown).not.toContain(TOKEN);
  });

  it('keeps the token and the archive path out of errors', async () => {
    const { client } = connect({}, { maxRetries: 0 });
    mock.use(
      http.get(`${BASE}/api/download_structures/`, () => json({ message: 'file_url is not found' }, 404)),
    );
    const error = await client.archives
      .download({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    const shown = `${(error as Error).message} ${JSON.stringify(error)} ${(error as Error).stack}`;
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain('0b6c3a52-5a61-4f0e-9a52-000000000001');
  });
});
