#!/usr/bin/env node
// The demo behind `pnpm demo`: runs the built `sciport` CLI the way a user would. It grows a part per
// service as the service clients land; each part runs against the bundled simulators (@sciport/testkit),
// never against the real services.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'packages', 'cli', 'dist', 'bin.js');
const configDir = mkdtempSync(path.join(tmpdir(), 'sciport-demo-'));
const env = { ...process.env, SCIPORT_CONFIG_DIR: configDir };

function step(title, args, input) {
  process.stdout.write(`\n\x1b[1m$ sciport ${args.join(' ')}\x1b[0m  # ${title}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', input });
  process.stdout.write(r.stdout);
  process.stdout.write(r.stderr);
  if (r.status !== 0) {
    process.stdout.write(`(exit ${r.status})\n`);
  }
  return r.status;
}

let failures = 0;
try {
  if (step('what the CLI can do', ['--help']) !== 0) failures++;
  if (step('its version', ['--version']) !== 0) failures++;
  if (step('store a setting', ['config', 'set', 'icsd.username', 'alice']) !== 0) failures++;
  if (
    step(
      'store a secret from stdin (never on the command line)',
      ['config', 'set', 'icsd.password'],
      'demo-password\n',
    ) !== 0
  )
    failures++;
  if (step('settings, secrets masked', ['config', 'list']) !== 0) failures++;
  if (step('where they live (credentials.json is mode 0600)', ['config', 'path']) !== 0) failures++;
  // A mistake shows the one-line error and the exit code (2: usage).
  if (step('a typo: exit 2 with a suggestion', ['confg', 'list']) !== 2) failures++;
} finally {
  rmSync(configDir, { recursive: true, force: true });
}
process.stdout.write(
  failures === 0
    ? '\nDemo finished: every step behaved as expected.\n'
    : `\nDemo finished with ${failures} unexpected results.\n`,
);
process.exit(failures === 0 ? 0 : 1);
