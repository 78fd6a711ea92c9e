import { DatasetDownloadError, type DownloadedFile } from '@sciport/crucible';
import type { Command } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import { createProgress, info, printJson, warn } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient } from './shared.js';

/** `sciport crucible download: a dataset's ingested files, verified`. */
export function registerDownload(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('download')
      .description("download a dataset's ingested files (verified against their SHA-256)")
      .argument('<dataset>', 'dataset id')
      .option('--out <dir>', 'folder (default: ./<dataset id>)')
      .option('--include <text>', 'only files whose name contains this text'),
  ).action(
    action(async (ctx, dsid: string, o: ApiOptions & { out?: string; include?: string }) => {
      const folder = await checkOutFolder(o.out ?? dsid);
      const client = await makeClient(ctx, o);
      let progress: ReturnType<typeof createProgress> | undefined;
      const report = (done: readonly DownloadedFile[]) => {
        if (ctx.json) printJson(ctx.out, done);
        else
          for (const f of done)
            info(ctx, `${f.path} ${f.skipped ? '(already there)' : `(${f.bytes} bytes)`}`);
      };
      let done: DownloadedFile[];
      try {
        done = await client.datasets.download(dsid, folder, {
          signal: ctx.signal,
          ...(o.include ? { include: (name: string) => name.includes(o.include as string) } : {}),
          onProgress: (p) => {
            progress ??= createProgress(ctx, p.total ?? 0, 'download');
            progress.update(p.bytes);
          },
          // Each failed file as it fails; the others go on, and the command ends with the list (exit 1).
          onFailure: (f) => warn(ctx, `${f.name}: ${f.error.message}`),
        });
      } catch (error) {
        progress?.stop();
        if (DatasetDownloadError.isInstance(error)) report(error.downloaded as DownloadedFile[]);
        throw error;
      }
      progress?.stop();
      report(done);
      if (!ctx.json && done.length === 0) warn(ctx, `${dsid} has no ingested files to download yet`);
    }),
  );
}
