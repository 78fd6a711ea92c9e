import { SciportError } from '@sciport/core';
import type { SyncResult } from '@sciport/fragalysis';
import type { Command } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import { info, printNdjson, warn } from '../../output.js';
import type { CommandApi } from '../../program.js';
import {
  type ArchiveCliOptions,
  archiveOptions,
  endTaskStatus,
  makeClient,
  maxWait,
  parseTarget,
  resolveTas,
  type StackOptions,
  stackOption,
  toArchiveOptions,
} from './shared.js';
import {
  checkObservationFlags,
  type ObservationSyncFlags,
  printObservationSync,
} from './sync-observations.js';

/** `sciport fragalysis sync <target...>`: download targets that have a newer upload than the local copy. */
export function registerSync(command: Command, { action }: CommandApi): void {
  archiveOptions(
    stackOption(
      command
        .command('sync')
        .description('download targets only when they have a newer upload than the copy in the folder')
        .argument('<target...>', 'targets, as title@tas (or a title that is unique)')
        .option('--tas <tas>', 'target access string of the targets given by title alone')
        .requiredOption('--out <dir>', 'folder holding the copies and the sync state')
        .option('--extract', 'unpack each archive')
        .option(
          '--observations',
          'sync observation by observation: fetch only new and changed ones, merged into <out>/<title>_<tas>/',
        )
        .option('--prune', 'with --observations: delete observations no longer on the server'),
    ),
  ).action(
    action(
      async (
        ctx,
        specs: string[],
        options: StackOptions &
          ArchiveCliOptions &
          ObservationSyncFlags & { tas?: string; out: string; extract?: boolean },
      ) => {
        checkObservationFlags(options);
        const archive = toArchiveOptions(options);
        const wait = maxWait(options.maxWait);
        const out = await checkOutFolder(options.out);
        const client = await makeClient(ctx, options);
        const targets: Array<{ title: string; tas: string }> = [];
        for (const spec of specs) {
          const p = parseTarget(spec);
          targets.push({ title: p.title, tas: await resolveTas(ctx, client, p.title, p.tas ?? options.tas) });
        }
        const results = await client.archives
          .sync(targets, out, {
            options: archive,
            ...(options.extract ? { extract: true } : {}),
            ...(options.observations ? { observations: true, prune: options.prune === true } : {}),
            ...(wait ? { maxWaitTime: wait } : {}),
            signal: ctx.signal,
            onTarget: (r: SyncResult) => {
              if (printObservationSync(ctx, r)) return;
              if (ctx.json) {
                printNdjson(ctx.out, {
                  target: r.target,
                  tas: r.tas,
                  status: r.status,
                  lastUploadIndex: r.lastUploadIndex ?? null,
                  archive: r.archive ?? null,
                  ...(r.error ? { error: r.error.message } : {}),
                });
              } else if (r.status === 'failed') warn(ctx, `${r.target} (${r.tas}): ${r.error?.message}`);
              else info(ctx, `${r.target} (${r.tas}): ${r.status}${r.archive ? ` → ${r.archive}` : ''}`);
            },
          })
          .catch((error: unknown) => {
            endTaskStatus(client);
            throw error;
          });
        const failed = results.filter((r) => r.status === 'failed');
        if (failed.length > 0) {
          throw new SciportError(`${failed.length} of ${results.length} targets failed to sync`);
        }
      },
    ),
  );
}
