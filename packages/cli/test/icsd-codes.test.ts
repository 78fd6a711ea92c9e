import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createIcsdSimulator, type IcsdSimulator, startTestServer, type TestServer } from '@sciport/testkit';
import { fixedAnswer } from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { icsdEnv, runCli, tempConfigDir } from './helpers.js';

/**
 * `sciport icsd fetch <code...>` (collection codes; `--idnum` for ids) and `sciport icsd cite`, end to end: the
 * built CLI as a child process, over real sockets, against the simulator.
 */

let sim: IcsdSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createIcsdSimulator({ entries: 500, seed: 23 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

function icsd(args: string[]) {
  return runCli(['icsd', ...args], {
    env: icsdEnv(server.url, { root, dir }),
  });
}

const fileOf = (code: number) => `icsd_${String(code).padStart(6, '0')}.cif`;

/** A collection code no entry has, between two that exist. */
function gapCode(from = 20): number {
  for (let i = from; i < sim.entries.length - 1; i++) {
    const a = sim.entries[i]!.collectionCode;
    if (sim.entries[i + 1]!.collectionCode - a > 1) return a + 1;
  }
  throw new Error('no gap');
}

async function cifsIn(folder: string): Promise<string[]> {
  return (await readdir(folder).catch(() => [] as string[])).filter((f) => f.endsWith('.cif')).sort();
}

describe('sciport icsd fetch <code...>', () => {
  it('writes the CIFs of collection codes byte for byte and exits 0', async () => {
    const out = path.join(root, 'cifs');
    const picked = [sim.entries[4]!, sim.entries[90]!, sim.entries[7]!];
    const r = await icsd(['fetch', ...picked.map((e) => String(e.collectionCode)), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('3 written');
    expect(await cifsIn(out)).toEqual(picked.map((e) => fileOf(e.collectionCode)).sort());
    for (const e of picked) {
      const bytes = await readFile(path.join(out, fileOf(e.collectionCode)));
      expect(bytes.equals(Buffer.from(sim.cif(e.id), 'utf8'))).toBe(true);
    }
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('names the codes that do not exist on stderr and in --json, writes the others, exits 0', async () => {
    const out = path.join(root, 'cifs');
    const missing = gapCode();
    const [a, b] = [sim.entries[30]!, sim.entries[31]!];
    // The missing code sits between the others: a client pairing by position would mix them up.
    const codes = [a.collectionCode, missing, b.collectionCode].map(String);
    const r = await icsd(['fetch', ...codes, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`no ICSD entry has collection code ${missing}$`, 'm'));
    expect(r.stderr).toContain('2 written, 0 already there, 1 not found');
    expect(await cifsIn(out)).toEqual([fileOf(a.collectionCode), fileOf(b.collectionCode)].sort());
    for (const e of [a, b]) {
      const bytes = await readFile(path.join(out, fileOf(e.collectionCode)));
      expect(bytes.equals(Buffer.from(sim.cif(e.id), 'utf8'))).toBe(true);
    }
    const j = await icsd(['--json', 'fetch', ...codes, '--out', out]);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({
      downloaded: 0,
      skipped: 2,
      missingCodes: [missing],
      badIds: [],
    });
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('exits 4 without a CIF request when no code exists; an internal id is not taken for a code', async () => {
    const out = path.join(root, 'none');
    const id = sim.entries[0]!.id;
    expect(sim.entryByCode(id)).toBeUndefined();
    const r = await icsd(['fetch', String(id), '--out', out]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`no ICSD entry has collection code ${id}\\b`));
    expect(await cifsIn(out)).toEqual([]);
    expect(sim.stats.requests.cif + sim.stats.requests['cif/multiple']).toBe(0);
    // The same number with --idnum is that entry's id.
    const ok = await icsd(['fetch', '--idnum', String(id), '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await cifsIn(out)).toEqual([fileOf(sim.entries[0]!.collectionCode)]);
  });

  it('refuses an operand that is no collection code with exit 2, before any login', async () => {
    for (const bad of ['abc', '0', '12.5', '-3', '99999999999999999999']) {
      const r = await icsd(['fetch', '12', bad, '--out', path.join(root, 'x')]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/Not an ICSD collection code/);
    }
    expect(sim.stats.logins).toBe(0);
  });
});

describe('sciport icsd cite <code...>', () => {
  const withAccent = () => sim.entries.find((e) => e.authors.some((a) => /[^ -~]/.test(a)))!;

  it('prints BibTeX by default, keyed icsd<code>, non-ASCII names intact', async () => {
    const e = withAccent();
    const r = await icsd(['cite', String(e.collectionCode)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith(`@article{icsd${e.collectionCode},\n`)).toBe(true);
    expect(r.stdout).toContain(`  author = {${e.authors.join(' and ')}},`);
    expect(r.stdout).toContain(`  year = {${e.publicationYear}},`);
    if (e.doi) expect(r.stdout).toContain(`  doi = {${e.doi}},`);
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('writes RIS and CSL-JSON; --out writes the same bytes atomically', async () => {
    const picked = sim.entries.slice(40, 43);
    const codes = picked.map((e) => String(e.collectionCode));
    const ris = await icsd(['cite', ...codes, '--format', 'ris']);
    expect(ris.code, ris.stderr).toBe(0);
    expect(ris.stdout.match(/^TY {2}- JOUR$/gm)).toHaveLength(3);
    expect(ris.stdout.match(/^ER {2}- $/gm)).toHaveLength(3);
    for (const a of picked[0]!.authors) expect(ris.stdout).toContain(`AU  - ${a}\n`);
    const csl = await icsd(['cite', ...codes, '--format', 'csl-json']);
    const items = JSON.parse(csl.stdout) as Array<Record<string, unknown>>;
    expect(items.map((i) => i.id)).toEqual(picked.map((e) => `icsd${e.collectionCode}`));
    expect(items[0]).toMatchObject({
      type: 'article-journal',
      title: picked[0]!.title,
      'container-title': picked[0]!.journal,
      issued: { 'date-parts': [[picked[0]!.publicationYear]] },
      volume: String(picked[0]!.volume),
    });
    const file = path.join(root, 'refs', 'refs.json');
    const written = await icsd(['cite', ...codes, '--format', 'csl-json', '--out', file]);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    expect(await readFile(file, 'utf8')).toBe(csl.stdout);
    expect(await readdir(path.dirname(file))).toEqual(['refs.json']);
  });

  it('reports unknown codes and exits 0, still printing the others; none found: no file, exit 4', async () => {
    const e = sim.entries[3]!;
    const missing = gapCode();
    const r = await icsd(['cite', String(e.collectionCode), String(missing)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`@article{icsd${e.collectionCode},`);
    expect(r.stderr).toMatch(new RegExp(`no ICSD entry has collection code ${missing}$`, 'm'));
    expect(r.stderr).toContain('1 reference, 1 not found');
    const j = await icsd(['--json', 'cite', String(missing)]);
    expect(j.code).toBe(4);
    expect(JSON.parse(j.stdout)).toMatchObject({ citations: 0, missingCodes: [missing], document: null });
    const file = path.join(root, 'none.bib');
    const none = await icsd(['cite', String(missing), '--out', file]);
    expect(none.code).toBe(4);
    expect(await readdir(root)).not.toContain('none.bib');
  });

  it('escapes control characters and bidi overrides in server text before the terminal', async () => {
    const e = sim.entries[5]!;
    const names = [
      'CollectionCode',
      'Authors',
      'Title',
      'Journal',
      'PublicationYear',
      'Volume',
      'Page',
      'Reference',
      'Doi',
    ];
    const cells = names.map((n) =>
      n === 'CollectionCode'
        ? String(e.collectionCode)
        : n === 'Title'
          ? 'Evil \u001b[2J\u202etitle\u009b'
          : '',
    );
    server.useRaw(
      fixedAnswer(
        { path: '/ws/csv' },
        {
          status: 200,
          headers: { 'content-type': 'application/csv;charset=UTF-8' },
          body: `${names.join('\t')}\t\n${cells.join('\t')}\t\n`,
        },
      ),
    );
    const r = await icsd(['cite', String(e.collectionCode), '--format', 'ris']);
    expect(r.code, r.stderr).toBe(0);
    for (const ch of ['\u001b', '\u202e', '\u009b']) expect(r.stdout).not.toContain(ch);
    expect(r.stdout).toContain('TI  - Evil');
  });

  it('refuses --out naming a folder, and a bad --format, with exit 2', async () => {
    const folder = path.join(root, 'folder');
    await writeFile(path.join(root, 'f'), 'x');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(folder);
    const r = await icsd(['cite', '12', '--out', folder]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a folder/);
    const f = await icsd(['cite', '12', '--format', 'endnote']);
    expect(f.code).toBe(2);
    expect(sim.stats.logins).toBe(0);
  });
});
