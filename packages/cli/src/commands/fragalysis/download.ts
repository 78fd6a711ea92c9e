import type { ArchiveDownloadResult } from '@sciport/fragalysis';
import type { Command } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import { createProgress, formatBytes, info, printJson, warn } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { failIfIncomplete, reportSummary } from './report.js';
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

function describeResult(result: ArchiveDownloadResult, includeUrl: boolean) {
  return {
    target: result.target,
    tas: result.tas,
    archive: result.archive,
    format: result.format,
    bytes: result.bytes,
    ...(result.sha256 ? { sha256: result.sha256 } : {}),
    immediate: result.immediate,
    ...(result.extractedTo ? { extractedTo: result.extractedTo } : {}),
    // A static link's file_url is how it is fetched again later; others expire and stay out of the output.
    ...(includeUrl ? { fileUrl: result.fileUrl } : {}),
    ...(result.report ? { reportFile: result.reportFile, report: result.report } : {}),
  };
}

/** `sciport fragalysis download <target>`: build and download a target's archive. */
export function registerDownload(command: Command, { action }: CommandApi): void {
  archiveOptions(
    stackOption(
      command
        .command('download')
        .description("build and download a target's archive, with every option of the web download dialog")
        .argument('<target>', 'target title (with --tas, or title@tas)')
        .option('--tas <tas>', 'target access string (needed when two targets share the title)')
        .addOption(
          command
            .createOption('--target-access-string <tas>', 'the same as --tas (the request field)')
            .hideHelp(),
        )
        .option('--out <dir>', 'folder to save into', '.')
        .option('--extract', 'unpack it (safely) into <out>/<title>_<tas>/')
        .option('--sha256', "compute the archive's SHA-256 as it arrives (printed; in --json)")
        .option('--strict', 'exit 1 when the archive is incomplete (its files are kept)'),
    ),
  ).action(
    action(
      async (
        ctx,
        spec: string,
        options: StackOptions &
          ArchiveCliOptions & {
            tas?: string;
            targetAccessString?: string;
            out: string;
            extract?: boolean;
            sha256?: boolean;
            strict?: boolean;
          },
      ) => {
        const parsed = parseTarget(spec);
        const archive = toArchiveOptions(options);
        const wait = maxWait(options.maxWait);
        const out = await checkOutFolder(options.out);
        const client = await makeClient(ctx, options);
        const tas = await resolveTas(
          ctx,
          client,
          parsed.title,
          options.tas ?? options.targetAccessString ?? parsed.tas,
        );
        info(ctx, `Asking ${client.baseUrl} for ${parsed.title} (${tas})…`);
        let progress: ReturnType<typeof createProgress> | undefined;
        const result = await client.archives
          .download({
            target: parsed.title,
            tas,
            destination: out,
            options: archive,
            ...(options.extract ? { extract: true } : {}),
            ...(options.sha256 ? { checksum: true } : {}),
            ...(wait ? { maxWaitTime: wait } : {}),
            signal: ctx.signal,
            onProgress: (p) => {
              if (!progress) progress = createProgress(ctx, p.total ?? 0, 'download');
              progress.update(p.bytes);
            },
          })
          .catch((error: unknown) => {
            // The build's spinner line is cleared before the error is printed.
            endTaskStatus(client);
            throw error;
          });
        progress?.stop();
        if (ctx.json) printJson(ctx.out, describeResult(result, archive.staticLink === true));
        else {
          info(ctx, `Saved ${result.archive} (${formatBytes(result.bytes)}, ${result.format})`);
          if (result.sha256) info(ctx, `SHA-256 ${result.sha256}`);
          if (result.extractedTo) info(ctx, `Unpacked into ${result.extractedTo}`);
          if (archive.staticLink) info(ctx, `Static link (fetch again with --file-url): ${result.fileUrl}`);
          if (result.report) {
            const { lines, notes } = reportSummary(result.report, result.reportFile);
            for (const [i, line] of lines.entries())
              (i === 0 && !result.report.complete ? warn : info)(ctx, line);
            for (const note of notes) warn(ctx, note);
          }
        }
        if (result.report) failIfIncomplete(result.report, options.strict);
      },
    ),
  );
}
