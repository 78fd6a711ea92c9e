#!/usr/bin/env node
// `pnpm test`: every check, in two stages that both always run.
//   1. turbo: build, typecheck, lint, the packages' tests, the packaging checks (`--continue`: one failure does
//      not hide the others);
//   2. the suite again on other Node majors (scripts/test-runtimes.mjs; SCIPORT_RUNTIMES=none skips it).
// A failure in the first stage no longer skips the second without a word: both run, each says how it ended, and
// the exit status is non-zero when either failed.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const turbo = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'turbo.cmd' : 'turbo');

function stage(name, command, args) {
  const started = Date.now();
  // No telemetry notice (nor telemetry) from turbo: the tool's own switch, as in .ci/run.
  const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  const seconds = Math.round((Date.now() - started) / 1000);
  const status = result.status ?? 1;
  return { name, status, seconds, error: result.error };
}

const stages = [
  stage('build, typecheck, lint, tests, packaging', turbo, [
    'run',
    'build',
    'typecheck',
    'lint',
    'test',
    'check-package',
    '--continue',
  ]),
  stage('the suite on other Node majors', process.execPath, [
    path.join(root, 'scripts', 'test-runtimes.mjs'),
  ]),
];

console.log('');
for (const s of stages) {
  const how = s.error
    ? `could not start (${s.error.message})`
    : s.status === 0
      ? 'passed'
      : `failed (exit ${s.status})`;
  console.log(`test: ${s.name}: ${how} in ${s.seconds} s`);
}
process.exit(stages.every((s) => s.status === 0) ? 0 : 1);
