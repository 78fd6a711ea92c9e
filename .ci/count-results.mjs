// Sums the vitest JSON reports written by every package's `test` task and prints "N passed, N failed".
// Exits 1 when a test failed, or when an expected report is missing (a test task that never ran).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

let passed = 0;
let failed = 0;
const missing = [];
for (const group of ['packages', 'tests']) {
  if (!existsSync(group)) continue;
  for (const dir of readdirSync(group)) {
    const pkgFile = path.join(group, dir, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    if (!pkg.scripts?.test) continue;
    const report = path.join(group, dir, '.reports', 'vitest.json');
    if (!existsSync(report)) {
      missing.push(pkg.name);
      continue;
    }
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests ?? 0;
    // A test file that fails to load has no failed tests but a failed suite: count it as a failure.
    const brokenFiles = (r.testResults ?? []).filter(
      (f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0,
    ).length;
    failed += (r.numFailedTests ?? 0) + brokenFiles;
    console.log(
      `${pkg.name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed (${r.numTotalTestSuites} files)`,
    );
  }
}
// The same suite on other Node majors (scripts/test-runtimes.mjs): one report per runtime.
const runtimes = path.join('.reports', 'runtimes');
if (existsSync(runtimes)) {
  for (const file of readdirSync(runtimes)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const r = JSON.parse(readFileSync(path.join(runtimes, file), 'utf8'));
    passed += r.numPassedTests ?? 0;
    const brokenFiles = (r.testResults ?? []).filter(
      (f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0,
    ).length;
    failed += (r.numFailedTests ?? 0) + brokenFiles;
    console.log(
      `${file.replace(/\.json$/, '')}: ${r.numPassedTests} passed, ${r.numFailedTests} failed (all but the docs checks)`,
    );
  }
}
for (const name of missing) console.log(`${name}: no test report (its tests did not run)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || missing.length > 0 ? 1 : 0);
