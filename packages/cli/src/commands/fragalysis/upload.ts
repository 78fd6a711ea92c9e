import path from 'node:path';
import { UsageError } from '@sciport/core';
import type { Command } from 'commander';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import type { TaskStatus } from '../../task-status.js';
import { escapeTerminal } from '../../terminal.js';
import {
  endTaskStatus,
  makeClient,
  maxWait,
  type StackOptions,
  showTaskStatus,
  stackOption,
} from './shared.js';

/**
 * `sciport fragalysis upload <bundle> --target T --tas TAS [--wait]` (issue 14: xca): an XChemAlign bundle to the
 * stack (spec §11.5). The bundle is checked first (nothing is sent for a tarball without `upload_<n>/` holding
 * `meta_aligner.yaml` and `config*.yaml`, or with a member escaping it); its SHA-256 goes with it. With `--wait`
 * the loader task is followed to its end and the new upload's index printed.
 */
export function registerUpload(command: Command, { action }: CommandApi): void {
  stackOption(
    command
      .command('upload')
      .description('upload an XChemAlign (XCA) bundle to a target; --wait follows the load to its end')
      .argument('<bundle>', 'the XCA tarball (.tar.gz, .tgz or .tar) whose top folder is upload_<n>/')
      .requiredOption('--target <title>', "the target's title (target_name of the bundle's config)")
      .requiredOption('--tas <tas>', 'target access string (proposal) to upload to: you must be a member')
      .option('--contact-email <address>', 'where the stack may write about the load')
      .option('--wait', 'wait for the load to end and print the new upload index')
      .option('--max-wait <seconds>', 'with --wait: give up after this long (default 1800)'),
  ).action(
    action(
      async (
        ctx,
        bundle: string,
        options: StackOptions & {
          target: string;
          tas: string;
          contactEmail?: string;
          wait?: boolean;
          maxWait?: string;
        },
      ) => {
        const wait = maxWait(options.maxWait);
        if (wait !== undefined && !options.wait) throw new UsageError('--max-wait needs --wait');
        if (!options.target.trim()) throw new UsageError('--target must name a target');
        const client = await makeClient(ctx, options);
        const target = options.target.trim();
        const tas = options.tas.trim();
        let status: TaskStatus | undefined;
        const loading = () =>
          (status ??= showTaskStatus(ctx, client, {
            task: 'xca-upload',
            label: `XCA load of ${path.basename(bundle)} into ${target}@${tas}`,
            target,
            tas,
          }));
        const result = await client.uploads
          .upload(bundle, {
            target,
            tas,
            contactEmail: options.contactEmail,
            wait: options.wait === true,
            ...(wait ? { maxWaitTime: wait } : {}),
            signal: ctx.signal,
            onChecked: (b) =>
              info(
                ctx,
                `${bundle}: ${b.folder}/ (${b.entries} members, ${b.compression}); sending to ${client.baseUrl}…`,
              ),
            // issue 15: the loader's state on the spinner; its lines printed above it, as before.
            onState: (state) => loading().update({ state }),
            onMessage: (line) =>
              loading().print(() => info(ctx, `loader: ${escapeTerminal(line, { inline: true })}`)),
          })
          .catch((error: unknown) => {
            endTaskStatus(client);
            throw error;
          });
        endTaskStatus(client, result.outcome ? 'SUCCESS' : undefined);
        const summary = {
          file: bundle,
          target,
          tas,
          folder: result.bundle.folder,
          sha256: result.sha256,
          status: result.outcome ? 'loaded' : 'accepted',
          uploadIndex: result.outcome?.uploadIndex ?? null,
        };
        if (ctx.json) {
          printJson(ctx.out, summary);
          return;
        }
        if (!result.outcome) {
          ctx.out.write(
            `Accepted ${bundle} for ${target}@${tas}: the stack is loading it (follow with --wait, or see \`sciport fragalysis uploads\`)\n`,
          );
          return;
        }
        const index = result.outcome.uploadIndex;
        ctx.out.write(
          index === undefined
            ? `Loaded ${bundle} into ${target}@${tas} (its upload is not in the history yet: see \`sciport fragalysis uploads\`)\n`
            : `Loaded ${bundle} into ${target}@${tas}: upload ${index}\n`,
        );
      },
    ),
  );
}
