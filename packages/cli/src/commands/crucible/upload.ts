import path from 'node:path';
import { UsageError } from '@sciport/core';
import {
  parserNames,
  RequestFailedError,
  type UploadFileResult,
  type UploadProgress,
} from '@sciport/crucible';
import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { createProgress, info, printJson, printNdjson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, describeRequest, makeClient, requestLine } from './shared.js';

/** `sciport crucible upload: files into a dataset (or a new one), optionally ingested and waited for`. */
export function registerUpload(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('upload')
      .description('upload files into a dataset (resumable on v2), optionally ingest and wait')
      .argument('<dataset>', 'dataset id, or "new" to create one from the files')
      .argument('<file...>', 'files')
      .option('--parser <name>', `with "new": read the files with a parser (${parserNames().join(', ')})`)
      .option(
        '--ingest [class]',
        'request ingestion: by this class (e.g. ApiUploadIngestor), else the server picks one by file type',
      )
      .option('--wait', 'wait for the ingestion to end')
      .option('--replace', 'upload even when the dataset has a file of that name with other content')
      .option('--parallel <n>', 'v2, files of 32 MiB or more: multipart parts in flight (default 4)')
      .option('--project <id>', 'with "new": the project')
      .option('--name <name>', 'with "new": the dataset name'),
  ).action(
    action(
      async (
        ctx,
        dsid: string,
        files: string[],
        o: ApiOptions & {
          parser?: string;
          ingest?: string | boolean;
          wait?: boolean;
          replace?: boolean;
          parallel?: string;
          project?: string;
          name?: string;
        },
      ) => {
        const ingestionClass = typeof o.ingest === 'string' ? o.ingest : undefined;
        const parallel = o.parallel === undefined ? undefined : parallelCount(o.parallel);
        const client = await makeClient(ctx, o);
        let progress: ReturnType<typeof createProgress> | undefined;
        const onProgress = (p: UploadProgress) => {
          progress ??= createProgress(ctx, p.total, 'upload');
          progress.setTotal(p.total);
          progress.update(p.bytes, { file: path.basename(p.file), resumedFrom: p.resumedFrom });
        };
        if (dsid === 'new') {
          const created = await client.datasets.createFromFiles(files, {
            signal: ctx.signal,
            ...(o.parser ? { parser: o.parser } : {}),
            dataset: {
              ...(o.project ? { projectId: o.project } : {}),
              ...(o.name ? { datasetName: o.name } : {}),
            },
            ...(ingestionClass ? { ingestionClass } : {}),
            ...(o.ingest || o.wait ? { wait: o.wait === true } : {}),
            onUpload: onProgress,
          });
          progress?.stop();
          if (ctx.json) {
            printJson(ctx.out, {
              dataset: created.dataset.uniqueId,
              files: created.files.map((f) => ({
                file: f.file.filename,
                mfid: f.file.mfid ?? null,
                skipped: f.skipped,
                sha256: f.sha256,
                request: f.request ? describeRequest(f.outcome?.request ?? f.request) : null,
              })),
            });
          } else {
            ctx.out.write(`${created.dataset.uniqueId}\n`);
            info(ctx, `Created dataset ${created.dataset.uniqueId}`);
            created.files.forEach((f, i) => {
              reportFile(ctx, shownPath(created.parsed.files[i]) ?? f.file.filename ?? '', f);
            });
          }
          const failed = created.files.find((f) => f.outcome && !f.outcome.succeeded);
          if (failed?.outcome) throw new RequestFailedError(failed.outcome.request);
          return;
        }
        for (const file of files) {
          progress = undefined;
          const r = await client.files.upload(dsid, file, {
            signal: ctx.signal,
            onProgress,
            ingest: o.ingest !== undefined || o.wait === true,
            ...(ingestionClass ? { ingestionClass } : {}),
            ...(o.wait ? { wait: true } : {}),
            ...(o.replace ? { replace: true } : {}),
            ...(parallel !== undefined ? { parallel } : {}),
          });
          (progress as ReturnType<typeof createProgress> | undefined)?.stop();
          const outcome = r.outcome;
          if (ctx.json) {
            printNdjson(ctx.out, {
              file,
              mfid: r.file.mfid ?? null,
              skipped: r.skipped,
              resumed: r.resumed,
              sha256: r.sha256,
              request: r.request ? describeRequest(outcome?.request ?? r.request) : null,
            });
          } else reportFile(ctx, file, r);
          if (outcome && !outcome.succeeded) throw new RequestFailedError(outcome.request);
        }
      },
    ),
  );
}

/** A parser's absolute path as the user would type it: relative to the working folder when it is inside. */
function shownPath(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** What became of one file: uploaded (or found), and its ingestion request, as `request 201 complete`. */
function reportFile(ctx: CliContext, file: string, r: UploadFileResult): void {
  info(
    ctx,
    `${file}: ${r.skipped ? 'already on the server' : `uploaded${r.resumed ? ' (resumed)' : ''}`}${r.file.mfid ? ` as ${r.file.mfid}` : ''}`,
  );
  if (r.outcome) info(ctx, `  ${requestLine(r.outcome.request)}`);
  else if (r.request) info(ctx, `  ingestion requested: request ${r.request.id}`);
}

/** `--parallel N`: an integer from 1 to 64. */
function parallelCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64)
    throw new UsageError(`--parallel must be an integer from 1 to 64, got ${value}`);
  return n;
}
