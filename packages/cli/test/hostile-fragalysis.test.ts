import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import {
  archiveBody,
  endlessBody,
  FRAGALYSIS_ARCHIVE_FETCH,
  htmlPage,
  stallAfterHeaders,
} from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir, waitFor } from './helpers.js';

/**
 * `sciport fragalysis download` against a stack whose archive fetch misbehaves on purpose: the built CLI as a
 * child process, over real sockets. Budgets are generous (the machine may be busy); what matters is that the
 * process ends, with the right exit code, and leaves nothing under the archive's name.
 */

let sim: FragalysisSimulator;
let server: TestServer;
let root: string;
let dir: string;
let out: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createFragalysisSimulator({ seed: 8, buildMs: 0 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
  out = path.join(root, 'out');
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

function fragalysis(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(['fragalysis', ...args], {
    ...options,
    env: {
      SCIPORT_CONFIG_DIR: dir,
      HOME: root,
      FRAGALYSIS_STACK: server.url,
      FRAGALYSIS_TOKEN: sim.tokenFor('demo'),
      ...options.env,
    },
  });
}

const ARCHIVE = 'NSP3_lb00000-1.tar.gz';
/** Temporary files of the archive: `.<archive>.<…>.tmp`. */
const isTemp = (name: string) => name.startsWith(`.${ARCHIVE}.`) && name.endsWith('.tmp');

describe('sciport fragalysis download from a hostile stack', () => {
  it('refuses an HTML login page served as the archive: exit 1, a clear message, nothing saved', async () => {
    const page = htmlPage(FRAGALYSIS_ARCHIVE_FETCH);
    server.useRaw(page);
    const started = Date.now();
    const r = await fragalysis(['download', 'NSP3@lb00000-1', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTML page .*NSP3_lb00000-1\.tar\.gz: it was not saved/);
    expect(r.stderr).not.toContain('<html');
    expect(r.stdout).toBe('');
    // Budget: the whole run (build and fetch against a local simulator) ends well within 20 s.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(page.stats.requests).toBe(1);
    expect(existsSync(out) ? await readdir(out) : []).toEqual([]);

    const json = await fragalysis(['download', 'NSP3@lb00000-1', '--out', out, '--json']);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    expect(existsSync(out) ? await readdir(out) : []).toEqual([]);
  });

  it('refuses a page that stalls after its first bytes at once, and exits promptly after the error', async () => {
    // A page announcing 1 MB that sends 100 bytes and then nothing: the connection stays open.
    const stalled = stallAfterHeaders(FRAGALYSIS_ARCHIVE_FETCH, {
      headers: { 'content-type': 'text/html', 'content-length': 1_000_000 },
      sent: 100,
    });
    server.useRaw(stalled);
    let printedAt: number | undefined;
    const r = await fragalysis(['download', 'NSP3@lb00000-1', '--out', out], {
      onSpawn: (child) => {
        child.stderr?.on('data', (d: Buffer) => {
          if (printedAt === undefined && d.toString().includes('sciport:')) printedAt = Date.now();
        });
      },
    });
    const exitedAt = Date.now();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTML page/);
    // Budget: the process ends within 5 s of printing the error (nothing of the response keeps it alive).
    expect(printedAt).toBeDefined();
    expect(exitedAt - (printedAt as number)).toBeLessThan(5_000);
    expect(existsSync(out) ? await readdir(out) : []).toEqual([]);
  });

  it('reports a 500 whose body never ends, reading only an excerpt, and exits promptly', async () => {
    const endless = endlessBody(FRAGALYSIS_ARCHIVE_FETCH, { status: 500 });
    server.useRaw(endless);
    let printedAt: number | undefined;
    const r = await fragalysis(['download', 'NSP3@lb00000-1', '--out', out], {
      onSpawn: (child) => {
        child.stderr?.on('data', (d: Buffer) => {
          if (printedAt === undefined && d.toString().includes('sciport:')) printedAt = Date.now();
        });
      },
    });
    const exitedAt = Date.now();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed to serve the archive \(500\)/);
    expect(printedAt).toBeDefined();
    // Budgets: ends within 5 s of the error; the server could push no more than a few MiB meanwhile.
    expect(exitedAt - (printedAt as number)).toBeLessThan(5_000);
    expect(endless.stats.bytesSent).toBeLessThan(64 * 1024 * 1024);
    expect(existsSync(out) ? await readdir(out) : []).toEqual([]);
  });

  it('removes the temporary file a SIGKILLed download left, on the next run, and keeps a live one', async () => {
    // The archive fetch sends its first 3 MiB and then nothing: the CLI is killed once some are on disk.
    const stall = archiveBody(FRAGALYSIS_ARCHIVE_FETCH, {
      declared: 10 * 1024 * 1024,
      sent: 3 * 1024 * 1024,
      stall: true,
    });
    server.useRaw(stall);
    const killed = await fragalysis(['download', 'NSP3@lb00000-1', '--out', out], {
      onSpawn: (child) => {
        waitFor(() => {
          if (!existsSync(out)) return false;
          return readdirSync(out).some((n) => isTemp(n) && statSync(path.join(out, n)).size > 0);
        }, 30_000).then(
          () => child.kill('SIGKILL'),
          () => child.kill('SIGKILL'),
        );
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    const left = (await readdir(out)).filter(isTemp);
    expect(left).toHaveLength(1);

    // Beside it: one of the older naming (no process id) untouched for two hours, and one of a live process
    // (this test's own), which a later run must not touch.
    await mkdir(out, { recursive: true });
    const legacy = `.${ARCHIVE}.0123456789ab.tmp`;
    const live = `.${ARCHIVE}.${process.pid}-0123456789ab.tmp`;
    await writeFile(path.join(out, legacy), 'old');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(out, legacy), twoHoursAgo, twoHoursAgo);
    await writeFile(path.join(out, live), 'being written');

    server.resetHandlers();
    const again = await fragalysis(['download', 'NSP3@lb00000-1', '--out', out, '--json']);
    expect(again.code).toBe(0);
    const names = (await readdir(out)).sort();
    expect(names).toEqual([live, ARCHIVE, `${ARCHIVE}.report.json`].sort());
    const saved = JSON.parse(again.stdout) as { archive: string; bytes: number };
    expect(saved.archive).toBe(path.join(out, ARCHIVE));
    expect((await stat(saved.archive)).size).toBe(saved.bytes);
  }, 60_000);
});
