import { UsageError } from '@sciport/core';
import { CONTENT_TYPE_NAMES, type TransferProgress } from '@sciport/icsd';
import { type Command, Option } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import { createProgress, info } from '../../output.js';
import type { CommandApi } from '../../program.js';
import {
  type ConnectionOptions,
  collect,
  connectionOptions,
  contentTypes,
  makeClient,
  summarise,
} from './shared.js';

/** `sciport icsd mirror --out <dir>`: the database (or a collection-code range) into a folder; resumes. */
export function registerMirror(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent
      .command('mirror')
      .description('mirror the database (or a collection-code range) into a folder; resumes by default')
      .requiredOption('--out <dir>', 'folder to mirror into')
      .option('--from <code>', 'lowest collection code (default 1)')
      .option('--to <code>', 'highest collection code (default 9999999)')
      .option(
        '--content-type <type>',
        `subset(s): ${CONTENT_TYPE_NAMES.join(', ')} (default: all three)`,
        collect,
      )
      .addOption(
        new Option('--cell-type <type>', 'cell')
          .choices(['experimental', 'standardized'])
          .default('experimental'),
      )
      .option('--concurrency <n>', 'requests in flight, sharing one session (default 4)')
      .option('--retry-bad', 'try again the ids an earlier run could not download')
      .option('--wait-on-quota', 'when ICSD throttles, wait (minutes) and go on instead of stopping'),
  ).action(
    action(
      async (
        ctx,
        options: ConnectionOptions & {
          out: string;
          from?: string;
          to?: string;
          contentType?: string[];
          cellType: 'experimental' | 'standardized';
          retryBad?: boolean;
        },
      ) => {
        const from = options.from === undefined ? undefined : Number(options.from);
        const to = options.to === undefined ? undefined : Number(options.to);
        for (const [name, v] of [
          ['--from', options.from],
          ['--to', options.to],
        ] as const) {
          if (v !== undefined && !/^\d+$/.test(v))
            throw new UsageError(`${name} must be a collection code, got ${JSON.stringify(v)}`);
        }
        const out = await checkOutFolder(options.out);
        const client = await makeClient(ctx, options);
        const types = contentTypes(options.contentType);
        let progress: ReturnType<typeof createProgress> | undefined;
        const report = await client.cifs.mirror(out, {
          signal: ctx.signal,
          cellType: options.cellType,
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(types ? { contentType: types } : {}),
          ...(options.retryBad ? { retryBad: true } : {}),
          onProgress: (p: TransferProgress) => {
            if (p.phase === 'discover') return;
            if (!progress) {
              info(ctx, `${p.total} entries to download, ${p.skipped} already in ${options.out}`);
              progress = createProgress(ctx, p.total, 'mirror');
            }
            progress.update(p.done + p.failed);
          },
        });
        progress?.stop();
        summarise(ctx, report);
      },
    ),
  );
}
