import path from 'node:path';
import { DatasetDownloadError, type DownloadedFile } from '@sciport/crucible';
import type { Command } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import { createProgress, formatBytes, info, printJson, warn } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient } from './shared.js';

/** Commander's way to repeat an option: each value appended. */
const repeat = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

interface DownloadFlags extends ApiOptions {
  out?: string;
  include?: string[];
  exclude?: string[];
  file?: string[];
  record?: boolean;
}

/**
 * `sciport crucible download <dataset>`: a dataset's ingested files, verified. With `--include`, `--exclude`
 * or `--file` only the selected files (spec §19.3: globs like `.gitignore`, tested against the path in the
 * dataset; each selected file's link asked for on its own), saved at `<out>/<path in dataset>`; nothing
 * selected exits 4 with the names there are. `--record` also saves the dataset's record as `<out>/record.json`.
 */
export function registerDownload(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('download')
      .description("download a dataset's ingested files (verified against their SHA-256)")
      .argument('<dataset>', 'dataset id')
      .option('--out <dir>', 'folder (default: ./<dataset id>)')
      .option(
        '--include <glob>',
        'only files whose path in the dataset matches (repeatable; * stays in a folder, ** crosses folders, a pattern without / matches the file name at any depth)',
        repeat,
      )
      .option('--exclude <glob>', 'leave out files whose path matches (repeatable; after --include)', repeat)
      .option(
        '--file <name-or-id>',
        'one file, by file id, path in the dataset or unique file name (repeatable)',
        repeat,
      )
      .option('--record', "also save the dataset's record with its metadata as record.json"),
  ).action(
    action(async (ctx, dsid: string, o: DownloadFlags) => {
      const folder = await checkOutFolder(o.out ?? dsid);
      const client = await makeClient(ctx, o);
      let progress: ReturnType<typeof createProgress> | undefined;
      const report = (done: readonly DownloadedFile[]) => {
        if (ctx.json) printJson(ctx.out, done);
        else
          for (const f of done)
            info(ctx, `${f.path} ${f.skipped ? '(already there)' : `(${formatBytes(f.bytes)})`}`);
      };
      let done: DownloadedFile[];
      try {
        done = await client.datasets.download(dsid, folder, {
          signal: ctx.signal,
          ...(o.include ? { include: o.include } : {}),
          ...(o.exclude ? { exclude: o.exclude } : {}),
          ...(o.file ? { files: o.file } : {}),
          ...(o.record ? { record: true } : {}),
          onProgress: (p) => {
            progress ??= createProgress(ctx, p.total ?? 0, 'download');
            progress.setTotal(p.total ?? 0);
            progress.update(p.bytes, { file: p.file, resumedFrom: p.resumedFrom });
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
      if (o.record && !ctx.json) info(ctx, `${path.join(folder, 'record.json')} (the dataset's record)`);
      if (!ctx.json && done.length === 0) warn(ctx, `${dsid} has no ingested files to download yet`);
    }),
  );
}
