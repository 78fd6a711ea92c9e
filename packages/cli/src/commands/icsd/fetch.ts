import { UsageError } from '@sciport/core';
import type { TransferProgress } from '@sciport/icsd';
import { type Command, Option } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import { createProgress } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ConnectionOptions, connectionOptions, makeClient, summarise } from './shared.js';

/** `sciport icsd fetch <id...> --out <dir>`: the CIFs of internal ids, into a folder, resuming what is there. */
export function registerFetch(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent
      .command('fetch')
      .description(
        'download the CIFs of internal ids into a folder (icsd_<code>.cif), resuming what is there',
      )
      .argument('<id...>', 'internal ids (from `sciport icsd search`)')
      .requiredOption('--out <dir>', 'folder to write into')
      .addOption(
        new Option('--cell-type <type>', 'cell')
          .choices(['experimental', 'standardized'])
          .default('experimental'),
      )
      .option('--concurrency <n>', 'requests in flight (default 4)'),
  ).action(
    action(
      async (
        ctx,
        idArgs: string[],
        options: ConnectionOptions & { out: string; cellType: 'experimental' | 'standardized' },
      ) => {
        const ids = idArgs
          .flatMap((a) => a.split(','))
          .filter(Boolean)
          .map((a) => {
            if (!/^\d+$/.test(a.trim()) || Number(a) < 1)
              throw new UsageError(`Not an ICSD id: ${JSON.stringify(a)}`);
            return Number(a);
          });
        const out = await checkOutFolder(options.out);
        const client = await makeClient(ctx, options);
        const progress = createProgress(ctx, ids.length, 'fetch');
        const report = await client.cifs.download(ids, out, {
          signal: ctx.signal,
          cellType: options.cellType,
          onProgress: (p: TransferProgress) => progress.update(p.done + p.skipped + p.failed),
        });
        progress.stop();
        summarise(ctx, report, true);
      },
    ),
  );
}
