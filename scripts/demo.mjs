#!/usr/bin/env node
// The demo behind `pnpm demo`: builds the packages (quietly), then runs the built `sciport` CLI the way a user
// would, against the bundled simulators (@sciport/testkit) served over real HTTP on 127.0.0.1, never against
// the real services. Every command is printed shell-quoted, exactly as it ran (copy-paste it; in a clone,
// `pnpm sciport …` runs the same CLI), and so is every environment variable it sets, but secrets.
// SCIPORT_DEMO_TRACE=<file> appends each command's arguments to <file> as a JSON line (for the tests).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatCommand, shellQuote } from './shell-quote.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'packages', 'cli', 'dist', 'bin.js');
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

// The build, quiet unless it fails: turbo shows task output only on errors and sends no telemetry.
if (process.env.SCIPORT_DEMO_SKIP_BUILD !== '1') {
  process.stdout.write('Building the packages (a minute or two the first time)… ');
  const started = Date.now();
  const turbo = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'turbo.cmd' : 'turbo');
  const build = spawnSync(turbo, ['run', 'build', '--output-logs=errors-only'], {
    cwd: root,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
    encoding: 'utf8',
    shell: process.platform === 'win32',
  });
  if (build.status !== 0) {
    process.stdout.write(
      `failed (exit ${build.status ?? build.error?.message})\n${build.stdout}${build.stderr}`,
    );
    process.exit(1);
  }
  process.stdout.write(`done in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

const { createCrucibleSimulator, createFragalysisSimulator, createIcsdSimulator, startTestServer } =
  await import(path.join(root, 'packages', 'testkit', 'dist', 'index.js'));

const work = mkdtempSync(path.join(tmpdir(), 'sciport-demo-'));
const env = { ...process.env, NO_COLOR: process.env.NO_COLOR };
const trace = process.env.SCIPORT_DEMO_TRACE;
let failures = 0;

/** Sets a variable for the commands that follow and prints it as an `export` (a secret only by its name). */
function setEnv(name, value, { secret = '' } = {}) {
  env[name] = value;
  process.stdout.write(
    secret
      ? `${bold(`# ${name}`)} is set to ${secret} (not printed)\n`
      : `${bold(`$ export ${name}=${shellQuote(value)}`)}\n`,
  );
  if (!secret && trace) appendFileSync(trace, `${JSON.stringify({ export: name, value })}\n`);
}

function run(args, { input, inputNote, expect = 0, title, quietOutput = false } = {}) {
  const note = [title, inputNote].filter(Boolean).join('; ');
  process.stdout.write(
    `\n${bold(`$ ${formatCommand(['sciport', ...args])}`)}${note ? `   # ${note}` : ''}\n`,
  );
  if (trace) appendFileSync(trace, `${JSON.stringify({ args })}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (!quietOutput) process.stdout.write(d);
    });
    child.stderr.on('data', (d) => process.stdout.write(d));
    child.stdin.end(input ?? '');
    child.on('close', (code) => {
      if (code !== expect) {
        failures++;
        process.stdout.write(`(exit ${code}, expected ${expect})\n`);
      }
      resolve(out);
    });
  });
}

function section(title) {
  process.stdout.write(`\n${bold(`== ${title}`)}\n`);
}

/** The (title, TAS) rows of a `fragalysis targets` table, by their first two columns. */
function targetRows(table) {
  return table
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cells) => cells.length >= 3 && /^\d+$/.test(cells[2] ?? ''))
    .map(([title, tas]) => `${title}@${tas}`);
}

const sim = createIcsdSimulator({ entries: 3000, seed: 42 });
const server = await startTestServer({ handlers: sim.handlers, faults: { latencyMs: [2, 10] } });
const frag = createFragalysisSimulator({ seed: 42, buildMs: 1500 });
const fragServer = await startTestServer({ handlers: frag.handlers, faults: { latencyMs: [2, 10] } });
const cru = createCrucibleSimulator({
  seed: 42,
  datasets: 40,
  chunkSizeHint: 1024 * 1024,
  ingestionSteps: { requestedMs: 400, startedMs: 800 },
});
const cruServer = await startTestServer({ handlers: cru.handlers, faults: { latencyMs: [2, 10] } });
try {
  section('The CLI');
  process.stdout.write(
    `(installed: \`sciport …\`; in this clone: \`pnpm sciport …\`, or \`npx -y pnpm@10.34.9 sciport …\` without pnpm)\n`,
  );
  setEnv('SCIPORT_CONFIG_DIR', path.join(work, 'config'));
  await run(['--help']);
  await run(['config', 'set', 'icsd.username', 'demo'], { title: 'store a setting' });
  await run(['config', 'set', 'icsd.password'], {
    input: 'demo-password\n',
    title: 'a secret, from stdin: not in shell history',
    inputNote: 'the demo types the password',
  });
  await run(['config', 'list'], { title: 'secrets are masked' });
  await run(['confg', 'list'], { expect: 2, title: 'a typo: one line, a suggestion, exit 2' });

  section(`ICSD, against the simulator at ${server.url}/ws (${sim.entries.length} entries)`);
  setEnv('ICSD_BASE_URL', `${server.url}/ws`);
  await run(['icsd', 'login'], {
    title: 'logs in and keeps the session for the commands below; no token is printed',
  });
  const ids = (
    await run(['icsd', 'search', 'Li', 'O', '--limit', '5'], { title: 'simple search: internal ids' })
  )
    .trim()
    .split('\n')
    .filter(Boolean);
  await run(
    [
      'icsd',
      'search',
      '--expert',
      'COMPOSITION : O and SPACEGROUPNUMBER : 1-20',
      '--limit',
      '6',
      '--properties',
      'SumFormula,HMS,CellVolume,Authors',
    ],
    { title: 'expert search, typed properties from /csv' },
  );
  const out = path.join(work, 'cifs');
  await run(['icsd', 'fetch', '--idnum', ...ids, '--out', out], {
    title: 'CIFs of those internal ids, written atomically',
  });
  const codes = [sim.entries[0], sim.entries[1]].map((e) => String(e.collectionCode));
  await run(['icsd', 'fetch', ...codes, '--out', out], { title: 'CIFs by collection code (ICSD number)' });
  await run(['icsd', 'cite', codes[0]], { title: 'a reference as BibTeX, key icsd<code>' });
  const disordered = sim.entries.find((e) => /\d\.\d/.test(e.sumFormula ?? ''));
  await run(['icsd', 'structure', codes[0], '--format', 'poscar'], {
    title: 'the crystal structure of a CIF: the expanded unit cell, as a VASP POSCAR',
  });
  if (disordered) {
    await run(['icsd', 'structure', String(disordered.collectionCode), '--format', 'optimade'], {
      title: 'a disordered entry as OPTIMADE: partial occupancies kept, structure_features ["disorder"]',
    });
  }
  const mirror = path.join(work, 'mirror');
  await run(['icsd', 'mirror', '--out', mirror, '--from', '1', '--to', '4000'], {
    title: 'mirror a collection-code range',
  });
  await run(['icsd', 'mirror', '--out', mirror, '--from', '1', '--to', '4000'], {
    title: 'again: resumes, nothing to fetch',
  });
  const changed = sim.modify(
    sim.entries
      .filter((e) => e.collectionCode <= 4000)
      .slice(0, 400)
      .filter((_, i) => i % 40 === 0)
      .map((e) => e.collectionCode),
  );
  await run(['icsd', 'mirror', '--out', mirror, '--from', '1', '--to', '4000', '--refresh'], {
    title: `ICSD changed ${changed.length} entries upstream: --refresh fetches only those`,
  });
  await run(['icsd', 'export', mirror, '--format', 'optimade', '--out', path.join(work, 'icsd.jsonl')], {
    title: 'the whole mirror as OPTIMADE JSON Lines',
  });
  await run(['icsd', 'logout'], { title: 'ends the kept session' });
  const files = readdirSync(mirror)
    .filter((f) => f.endsWith('.cif'))
    .sort();
  const bytes = files.reduce((sum, f) => sum + statSync(path.join(mirror, f)).size, 0);
  process.stdout.write(
    `\n${bold('What was written:')} ${files.length} files (${(bytes / 1024).toFixed(0)} KiB) in ${mirror}\n`,
  );
  process.stdout.write(`  ${files.slice(0, 3).join('\n  ')}\n  …\n  ${files.at(-1)}\n`);
  process.stdout.write(`${bold(`Head of ${files[0]}:`)}\n`);
  process.stdout.write(
    `${readFileSync(path.join(mirror, files[0]), 'utf8')
      .split('\n')
      .slice(0, 8)
      .map((l) => `  | ${l}`)
      .join('\n')}\n`,
  );
  process.stdout.write(
    `${bold('Simulator counters:')} ${sim.stats.logins} logins, ${sim.stats.logouts} logouts, ${sim.stats.liveTokens} live tokens, ${sim.stats.cifsServed} CIFs served\n`,
  );
  if (sim.stats.liveTokens !== 0) failures++;

  section(`Fragalysis, against the simulator at ${fragServer.url}`);
  setEnv('FRAGALYSIS_STACK', fragServer.url);
  const anonymous = targetRows(
    await run(['fragalysis', 'targets'], { title: 'anonymous: open proposals only' }),
  );
  setEnv('FRAGALYSIS_TOKEN', frag.tokenFor('demo'), {
    secret: 'the session id the simulator gave user demo',
  });
  const member = targetRows(
    await run(['fragalysis', 'targets'], {
      title: 'with a token: private proposals too; one title, two TAS',
    }),
  );
  const extra = member.filter((t) => !anonymous.includes(t));
  process.stdout.write(
    `${bold('What the token adds:')} ${extra.length} private target${extra.length === 1 ? '' : 's'} (${extra.join(', ') || 'none'}) to the ${anonymous.length} open ones\n`,
  );
  if (extra.length === 0) failures++;
  await run(['fragalysis', 'download', 'Mpro', '--out', work], {
    expect: 2,
    title: 'ambiguous title: asks for the TAS',
  });
  const fragOut = path.join(work, 'fragalysis');
  await run(
    ['fragalysis', 'download', 'Mpro', '--tas', 'sw30864-12', '--out', fragOut, '--extract', '--event-file'],
    {
      title: 'build (polled), download atomically, extract safely',
    },
  );
  const extracted = path.join(fragOut, 'Mpro_sw30864-12');
  const top = readdirSync(extracted).sort();
  process.stdout.write(`\n${bold(`What was written in ${extracted}:`)}\n  ${top.join('\n  ')}\n`);
  process.stdout.write(`${bold('Head of metadata.csv:')}\n`);
  process.stdout.write(
    `${readFileSync(path.join(extracted, 'metadata.csv'), 'utf8')
      .split('\n')
      .slice(0, 4)
      .map((l) => `  | ${l.length > 150 ? `${l.slice(0, 150)}…` : l}`)
      .join('\n')}\n`,
  );
  await run(['fragalysis', 'uploads'], { title: 'last upload per (target, TAS)' });
  const syncArgs = [
    'fragalysis',
    'sync',
    'Mpro@sw30864-12',
    'NSP3@lb00000-1',
    '--out',
    path.join(work, 'synced'),
  ];
  await run(syncArgs, { title: 'sync into a folder: both are new there' });
  frag.addUpload('NSP3', 'lb00000-1');
  process.stdout.write('\n(the simulator receives a new NSP3 upload)\n');
  await run(syncArgs, { title: 'again: Mpro is current, only NSP3 is fetched' });
  await run(['fragalysis', 'smiles', 'Mpro', '--tas', 'lb18145-1'], {
    title: 'compound SMILES of exactly that target',
  });
  setEnv('FRAGALYSIS_TOKEN', 'expired-session-id');
  await run(['fragalysis', 'targets'], {
    expect: 3,
    title: 'a token the stack does not accept: exit 3, not silent public data',
  });
  process.stdout.write(
    `${bold('Simulator counters:')} ${frag.stats.buildsStarted} archive builds, ${frag.stats.archiveFetches} archive downloads, ${frag.stats.csrfBootstraps} CSRF bootstraps\n`,
  );

  section(`Crucible (API v2), against the simulator at ${cruServer.url}/api/v2`);
  setEnv('CRUCIBLE_API_URL', `${cruServer.url}/api/v2`);
  setEnv('CRUCIBLE_API_KEY', cru.keyFor('demo'), { secret: 'the key the simulator gave user demo' });
  setEnv('XDG_CACHE_HOME', path.join(work, 'cache'));
  await run(['crucible', 'whoami'], { title: 'the key (from CRUCIBLE_API_KEY) is checked, never printed' });
  const created = await run(
    [
      'crucible',
      'datasets',
      'create',
      '--name',
      'XRD scan 5',
      '--project',
      'DEMO-0001',
      '--measurement',
      'XRD',
      '--metadata',
      '{"beam": {"energy_keV": 12.4}, "sample_temperature_K": 295}',
      '--keyword',
      'sciport-demo',
      'thin film',
    ],
    { title: 'a dataset with scientific metadata and keywords; prints its id' },
  );
  const dsid = created.trim();
  const scan = path.join(work, 'scan-5.h5');
  const scanBytes = randomBytes(6 * 1024 * 1024 + 12345);
  writeFileSync(scan, scanBytes);
  await run(['crucible', 'upload', dsid, scan, '--ingest', 'ApiUploadIngestor', '--wait'], {
    title: 'resumable upload in 1 MiB chunks, then ingestion, waited on',
  });
  await run(['crucible', 'upload', dsid, scan], {
    title: 'again: the server has these bytes, nothing is sent',
  });
  await run(['crucible', 'metadata', 'merge', dsid, '{"beam": {"current_mA": 250}}'], {
    title: 'merge into the metadata',
  });
  await run(['crucible', 'metadata', 'get', dsid]);
  await run(['crucible', 'datasets', 'list', '--keyword', 'sciport-demo'], { title: 'find it by keyword' });
  const cruOut = path.join(work, 'crucible-download');
  await run(['crucible', 'download', dsid, '--out', cruOut], {
    title: 'signed links, no key sent to storage; SHA-256 checked',
  });
  const same = readFileSync(path.join(cruOut, 'scan-5.h5')).equals(scanBytes);
  process.stdout.write(`${bold('Downloaded file byte-identical to the upload:')} ${same ? 'yes' : 'NO'}\n`);
  if (!same) failures++;

  const run5 = path.join(work, 'nacl-melt');
  mkdirSync(run5);
  writeFileSync(
    path.join(run5, 'in.nacl'),
    // LAMMPS variables (`$` + `{name}`), not JavaScript placeholders:
    `variable name string nacl\nlog $\{name}.log\nread_data $\{name}.data\nrun 1000\n`,
  );
  writeFileSync(
    path.join(run5, 'nacl.data'),
    'NaCl\n\n8 atoms\n2 atom types\n\n0.0 5.64 xlo xhi\n0.0 5.64 ylo yhi\n0.0 5.64 zlo zhi\n\nMasses\n\n1 22.98977\n2 35.453\n',
  );
  writeFileSync(path.join(run5, 'nacl.log'), 'LAMMPS (2 Aug 2023 - Update 3)\n');
  const fromRun = await run(
    ['crucible', 'upload', 'new', path.join(run5, 'in.nacl'), '--parser', 'lammps', '--project', 'DEMO-0001'],
    { title: 'a new dataset from a LAMMPS run: the parser fills the fields and metadata; prints its id' },
  );
  const lammpsDataset = fromRun.trim();
  if (lammpsDataset)
    await run(['crucible', 'metadata', 'get', lammpsDataset], { title: 'what the parser read' });
  await run(['crucible', 'open', dsid, '--print'], { title: 'the web page of the dataset' });
  await run(['crucible', 'status'], { title: 'is the service live and ready, and does the key work?' });
  await run(['crucible', 'search', 'XRD scna'], { title: 'fuzzy name search (a typo forgiven), best first' });
  const selected = path.join(work, 'crucible-selected');
  await run(['crucible', 'download', dsid, '--include', '*.h5', '--record', '--out', selected], {
    title: 'only the files a glob selects (their links only), and the record with its metadata',
  });
  await run(['crucible', 'download', dsid, '--include', 'raw/**', '--out', selected], {
    expect: 4,
    title: 'a glob that matches nothing: exit 4, the names there are listed',
  });
  const batch = path.join(work, 'batch');
  mkdirSync(path.join(batch, 'data'), { recursive: true });
  writeFileSync(path.join(batch, 'data', 'scan-1.csv'), 'two_theta,counts\n20.0,112\n');
  writeFileSync(path.join(batch, 'data', 'scan-2.csv'), 'two_theta,counts\n20.0,98\n');
  writeFileSync(path.join(batch, 'xrd-meta.json'), '{"wavelength_A": 1.5406}\n');
  const manifest = path.join(batch, 'batch.yaml');
  writeFileSync(
    manifest,
    [
      'version: 1',
      'project: DEMO-0001',
      'samples:',
      '  - id: wafer',
      '    name: wafer 12',
      '    metadata: {thickness_nm: 500}',
      'datasets:',
      '  - id: xrd-fit',
      '    name: XRD fit of scan 5',
      '    keywords: [sciport-demo]',
      '    metadata: xrd-meta.json',
      '    files: [data/*.csv]',
      '    ingest: false',
      '    samples: [wafer]',
      `    parents: [${dsid}]`,
      '',
    ].join('\n'),
  );
  await run(['crucible', 'apply', manifest, '--dry-run'], {
    title: 'a batch manifest: the plan, nothing sent',
  });
  await run(['crucible', 'apply', manifest], {
    title: 'a sample, a dataset, metadata, keywords, links, files',
  });
  await run(['crucible', 'apply', manifest], { title: 'again: everything matches, nothing is sent' });
  await run(['crucible', 'tree', dsid], { title: 'the graph around the first dataset' });
  setEnv('CRUCIBLE_API_KEY', 'not-a-key');
  await run(['crucible', 'whoami'], { expect: 3, title: 'a wrong key: exit 3' });
  process.stdout.write(
    `${bold('Simulator counters:')} ${cru.stats.storageAuthorizationHeaders} storage requests carried an Authorization header\n`,
  );
  if (cru.stats.storageAuthorizationHeaders !== 0) failures++;
} finally {
  await cruServer.close();
  await cru.dispose();
  await fragServer.close();
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(
  failures === 0
    ? '\nDemo finished: every step behaved as expected.\n'
    : `\nDemo finished with ${failures} unexpected results.\n`,
);
process.exit(failures === 0 ? 0 : 1);
