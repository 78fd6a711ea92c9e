#!/usr/bin/env node
// The publishing flow, end to end, without publishing: on a copy of the working tree,
//   1. `changeset version` consumes the pending changesets (versions, CHANGELOG.md per package);
//   2. `pnpm -r publish --dry-run` accepts every published package;
//   3. `pnpm pack` gives tarballs whose manifests carry real ranges (`workspace:^` → `^x.y.z`);
//   4. the tarballs are served by a throwaway npm registry on 127.0.0.1 (just the two routes npm uses), and a
//      consumer pinning exact versions installs them;
//   5. a second release with a changeset for one package only bumps that package and, per the changesets
//      config (`updateInternalDependencies: "patch"`), its dependents; the pinned consumer, installed again from
//      scratch, keeps its exact versions while a caret consumer moves up.
//
//   node scripts/release-check.mjs            prints a summary; exit 1 on the first broken expectation
//   node scripts/release-check.mjs --json     prints the report as JSON (the consumer tests read it)
//
// Needs the packages built (their dist folders are copied) and the pnpm store populated (`pnpm install`).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const asJson = process.argv.includes('--json');
const log = (line) => {
  if (!asJson) console.log(line);
};
// Under `pnpm test`/`pnpm run`, the pnpm that runs us (CI has no pnpm on PATH); else the one on PATH.
const pnpm = /pnpm/.test(process.env.npm_execpath ?? '')
  ? [process.execPath, process.env.npm_execpath]
  : ['pnpm'];
/** Runs `cmd` (an argv prefix: a program and its first arguments) with more arguments. */
const sh = ([program, ...first], args, cwd, env = {}) =>
  run(program, [...first, ...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
const pn = (args, cwd) => sh(pnpm, args, cwd);

class Broken extends Error {}

/** Whether `^a.b.c` admits `version` (npm's caret: the left-most non-zero part is fixed). */
function caretAdmits(range, version) {
  const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
  const v = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m || !v) return false;
  const [a, b, c] = m.slice(1).map(Number);
  const [x, y, z] = v.slice(1).map(Number);
  if (x !== a) return false;
  if (a > 0) return y > b || (y === b && z >= c);
  if (y !== b) return false;
  return b > 0 ? z >= c : z === c;
}
function expect(ok, message) {
  if (!ok) throw new Broken(message);
}

const work = mkdtempSync(path.join(tmpdir(), 'sciport-release-'));
const copy = path.join(work, 'repo');
const report = { releases: [], pinned: {}, caret: {} };
let registry;
try {
  // 1. A copy of what is (or would be) committed, with the built dist folders.
  const { stdout: files } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root });
  for (const file of files.split('\0').filter(Boolean)) {
    const from = path.join(root, file);
    if (!existsSync(from)) continue;
    mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    cpSync(from, path.join(copy, file));
  }
  const published = [];
  for (const dir of readdirSync(path.join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8'));
    if (pkg.private) continue;
    const dist = path.join(root, 'packages', dir, 'dist');
    expect(existsSync(dist), `packages/${dir} is not built: run \`pnpm build\` first`);
    cpSync(dist, path.join(copy, 'packages', dir, 'dist'), { recursive: true });
    published.push({ dir, name: pkg.name, before: pkg.version });
  }
  await pn(['install', '--offline', '--frozen-lockfile', '--ignore-scripts', '--reporter=silent'], copy);

  const changesets = () =>
    readdirSync(path.join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
  const manifestOf = (dir) =>
    JSON.parse(readFileSync(path.join(copy, 'packages', dir, 'package.json'), 'utf8'));
  const versions = () => Object.fromEntries(published.map((p) => [p.name, manifestOf(p.dir).version]));

  async function release(label) {
    const pending = changesets();
    expect(pending.length > 0, `${label}: no pending changesets`);
    const before = versions();
    await sh(
      [process.execPath, path.join(copy, 'node_modules', '@changesets', 'cli', 'bin.js')],
      ['version'],
      copy,
    );
    const after = versions();
    expect(changesets().length === 0, `${label}: changeset version left changesets behind`);
    const bumped = Object.keys(after).filter((n) => after[n] !== before[n]);
    for (const p of published) {
      if (!bumped.includes(p.name)) continue;
      const changelog = path.join(copy, 'packages', p.dir, 'CHANGELOG.md');
      expect(existsSync(changelog), `${label}: ${p.name} was bumped but has no CHANGELOG.md`);
      expect(
        readFileSync(changelog, 'utf8').includes(`## ${after[p.name]}`),
        `${label}: the CHANGELOG of ${p.name} has no section for ${after[p.name]}`,
      );
    }
    // The registry dry run: every bumped package is accepted.
    const { stdout } = await pn(
      ['-r', 'publish', '--dry-run', '--no-git-checks', '--access', 'public'],
      copy,
    );
    for (const name of bumped)
      expect(stdout.includes(`+ ${name}@${after[name]}`), `${label}: publish --dry-run did not list ${name}`);
    // The tarballs.
    const packs = path.join(work, `packs-${label}`);
    mkdirSync(packs, { recursive: true });
    const tarballs = {};
    for (const p of published) {
      await pn(['pack', '--pack-destination', packs], path.join(copy, 'packages', p.dir));
      const file = path.join(packs, `${p.name.replace('@', '').replace('/', '-')}-${after[p.name]}.tgz`);
      expect(existsSync(file), `${label}: no tarball for ${p.name}`);
      const { stdout: listing } = await run('tar', ['-tzf', file]);
      const extra = listing
        .trim()
        .split('\n')
        .filter((e) => !/^package\/(dist\/.+|README\.md|LICENSE|package\.json)$/.test(e));
      expect(extra.length === 0, `${label}: ${p.name}'s tarball holds ${extra.join(', ')}`);
      const { stdout: json } = await run('tar', ['-xzOf', file, 'package/package.json']);
      expect(!json.includes('workspace:'), `${label}: ${p.name}'s manifest still says workspace:`);
      const manifest = JSON.parse(json);
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        if (!dep.startsWith('@sciport/')) continue;
        expect(
          range === `^${after[dep]}`,
          `${label}: ${p.name} depends on ${dep} ${range}, not ^${after[dep]}`,
        );
      }
      tarballs[p.name] = { file, manifest };
    }
    report.releases.push({ label, changesets: pending.length, bumped, versions: after });
    log(`${label}: ${pending.length} changesets → ${bumped.map((n) => `${n}@${after[n]}`).join(', ')}`);
    return { versions: after, bumped, tarballs };
  }

  // A registry with the two routes npm needs: the packument and the tarball.
  const served = new Map(); // name → { version → { manifest, file } }
  registry = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '/');
    const tarball = url.match(/^\/-\/(.+\.tgz)$/);
    if (tarball) {
      for (const versionsOf of served.values()) {
        for (const entry of Object.values(versionsOf)) {
          if (path.basename(entry.file) === tarball[1]) {
            res.writeHead(200, { 'content-type': 'application/octet-stream' });
            res.end(readFileSync(entry.file));
            return;
          }
        }
      }
    }
    const name = url.replace(/^\//, '').replace(/%2f/i, '/');
    const versionsOf = served.get(name);
    if (!versionsOf) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found"}');
      return;
    }
    const port = registry.address().port;
    const all = Object.keys(versionsOf);
    const latest = all.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).at(-1);
    const packument = {
      name,
      'dist-tags': { latest },
      versions: Object.fromEntries(
        Object.entries(versionsOf).map(([v, { manifest, file }]) => {
          const bytes = readFileSync(file);
          return [
            v,
            {
              ...manifest,
              dist: {
                tarball: `http://127.0.0.1:${port}/-/${path.basename(file)}`,
                shasum: createHash('sha1').update(bytes).digest('hex'),
                integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
              },
            },
          ];
        }),
      ),
    };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(packument));
  });
  await new Promise((resolve) => registry.listen(0, '127.0.0.1', resolve));
  const registryUrl = `http://127.0.0.1:${registry.address().port}/`;
  const publish = (tarballs) => {
    for (const [name, { file, manifest }] of Object.entries(tarballs)) {
      if (!served.has(name)) served.set(name, {});
      served.get(name)[manifest.version] = { file, manifest };
    }
  };

  async function consumer(name, dependencies) {
    const dir = path.join(work, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, dependencies }));
    writeFileSync(path.join(dir, '.npmrc'), `@sciport:registry=${registryUrl}\n`);
    // Not --prefer-offline: the second install must see what release-2 added to the registry.
    await sh(['npm'], ['install', '--no-audit', '--no-fund', '--loglevel=error'], dir);
    const installed = {};
    for (const dep of Object.keys(dependencies).concat('@sciport/core')) {
      const file = path.join(dir, 'node_modules', dep, 'package.json');
      if (existsSync(file)) installed[dep] = JSON.parse(readFileSync(file, 'utf8')).version;
    }
    return installed;
  }

  // Release 1: the pending changesets.
  const first = await release('release-1');
  publish(first.tarballs);
  const v1 = first.versions;
  const pins = { '@sciport/icsd': v1['@sciport/icsd'], '@sciport/fragalysis': v1['@sciport/fragalysis'] };
  const pinned1 = await consumer('pinned', pins);
  expect(
    pinned1['@sciport/icsd'] === v1['@sciport/icsd'] && pinned1['@sciport/core'] === v1['@sciport/core'],
    `the pinned consumer installed ${JSON.stringify(pinned1)}`,
  );

  // Release 2: one changeset, for @sciport/fragalysis only.
  writeFileSync(
    path.join(copy, '.changeset', 'release-check-fragalysis.md'),
    '---\n"@sciport/fragalysis": patch\n---\n\nA fix in Fragalysis only (release check).\n',
  );
  const second = await release('release-2');
  const v2 = second.versions;
  expect(
    v2['@sciport/fragalysis'] !== v1['@sciport/fragalysis'],
    'release-2 did not bump @sciport/fragalysis',
  );
  for (const name of ['@sciport/core', '@sciport/icsd', '@sciport/crucible', '@sciport/testkit'])
    expect(v2[name] === v1[name], `release-2 bumped ${name} (${v1[name]} → ${v2[name]}) without a changeset`);
  // Dependents (the CLI depends on fragalysis through `workspace:^`) are bumped only when the new version leaves
  // the range they were published with; a patch stays inside `^`, so the CLI already on the registry takes it.
  const cliRange = first.tarballs['@sciport/cli'].manifest.dependencies['@sciport/fragalysis'];
  const cliBumped = v2['@sciport/cli'] !== v1['@sciport/cli'];
  expect(
    cliBumped || caretAdmits(cliRange, v2['@sciport/fragalysis']),
    `the published CLI's range ${cliRange} does not admit @sciport/fragalysis ${v2['@sciport/fragalysis']}, ` +
      'and the CLI was not released again',
  );
  report.dependents = { cliRange, cliBumped };
  publish(Object.fromEntries(second.bumped.map((n) => [n, second.tarballs[n]])));

  const pinned2 = await consumer('pinned', pins);
  expect(
    JSON.stringify(pinned2) === JSON.stringify(pinned1),
    `the pinned consumer moved: ${JSON.stringify(pinned1)} → ${JSON.stringify(pinned2)}`,
  );
  const caret = await consumer('caret', { '@sciport/fragalysis': `^${v1['@sciport/fragalysis']}` });
  expect(
    caret['@sciport/fragalysis'] === v2['@sciport/fragalysis'],
    `the caret consumer got ${caret['@sciport/fragalysis']}, not ${v2['@sciport/fragalysis']}`,
  );
  report.pinned = { release1: pinned1, release2: pinned2 };
  report.caret = caret;
  log(`pinned consumer: ${JSON.stringify(pinned1)} before and after release-2`);
  log(`caret consumer: @sciport/fragalysis ${caret['@sciport/fragalysis']}`);
  report.ok = true;
} catch (error) {
  report.ok = false;
  report.error = error instanceof Error ? error.message : String(error);
  if (!asJson) console.error(`release check failed: ${report.error}`);
  if (!(error instanceof Broken) && !asJson) console.error(error);
  process.exitCode = 1;
} finally {
  registry?.close();
  rmSync(work, { recursive: true, force: true });
}
if (asJson) console.log(JSON.stringify(report));
else if (report.ok) console.log('release check: ok');
