import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * `pnpm docs` (typedoc, configured in the root typedoc.json) converts every package and the guides without an
 * error or a warning: a broken `{@link}`, an unknown TSDoc tag or a relative link to a missing file fails here.
 * Nothing is written (`--emit none`); the HTML goes to docs/api only when someone runs `pnpm docs`.
 */

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('the API reference', () => {
  it('builds from the TSDoc comments without errors or warnings (typedoc)', async () => {
    const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const result = await run(
      process.execPath,
      [typedoc, '--emit', 'none', '--logLevel', 'Warn', '--treatWarningsAsErrors'],
      { cwd: root, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, maxBuffer: 16 * 1024 * 1024 },
    ).then(
      (r) => ({ code: 0, out: `${r.stdout}${r.stderr}` }),
      (error: { code?: number | string; stdout?: string; stderr?: string; message: string }) => ({
        code: error.code ?? 1,
        out: `${error.stdout ?? ''}${error.stderr ?? ''}` || error.message,
      }),
    );
    expect(result.out, `typedoc reported problems:\n${result.out}`).not.toMatch(/\[(warning|error)\]/i);
    expect(result.code, result.out).toBe(0);
  });
});
