import path from 'node:path';
import { type ApplyAction, applyManifest } from '@sciport/crucible';
import type { Command } from 'commander';
import { createProgress, info, type Progress, printNdjson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { escapeTerminal } from '../../terminal.js';
import { type ApiOptions, apiOptions, makeClient } from './shared.js';

/**
 * `sciport crucible apply <manifest.yaml> [--dry-run]`: samples, datasets, metadata, keywords, links and files
 * from one declarative file (spec §19.5.1). Checked whole before the first write (exit 2 naming each problem's
 * line); progress kept in `<manifest>.state.json`, so a second run matches everything and sends no write, and a
 * run that failed part-way is finished by the next. One line per step on stdout (NDJSON with `--json`, then a
 * summary line).
 */
export function registerApply(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('apply')
      .description('create samples and datasets, their metadata, keywords, links and files from a manifest')
      .argument('<manifest>', 'the manifest (YAML, spec §19.5.1); its state is kept in <manifest>.state.json')
      .option('--dry-run', 'print the plan; send no write and keep no state'),
  ).action(
    action(async (ctx, manifest: string, o: ApiOptions & { dryRun?: boolean }) => {
      const client = await makeClient(ctx, o);
      let progress: Progress | undefined;
      let current = '';
      const result = await applyManifest(client, manifest, {
        signal: ctx.signal,
        ...(o.dryRun ? { dryRun: true } : {}),
        onProgress: (a) => {
          progress?.stop();
          progress = undefined;
          if (ctx.json) printNdjson(ctx.out, { type: 'action', ...a });
          else ctx.out.write(`${escapeTerminal(describe(a), { inline: true })}\n`);
        },
        onUploadProgress: (p) => {
          if (current !== p.file) {
            progress?.stop();
            progress = createProgress(ctx, p.total, 'upload');
            current = p.file;
          }
          progress?.setTotal(p.total);
          progress?.update(p.bytes, { file: path.basename(p.file), resumedFrom: p.resumedFrom });
        },
      });
      progress?.stop();
      const { done, matched, planned } = result.summary;
      if (ctx.json)
        printNdjson(ctx.out, {
          type: 'summary',
          dryRun: result.dryRun,
          done,
          matched,
          planned,
          writes: result.writes,
          state: result.statePath,
        });
      else if (result.dryRun) info(ctx, `Dry run: ${planned} to do, ${matched} matched; nothing was sent`);
      else
        info(
          ctx,
          done === 0
            ? `Everything matched (${matched}): nothing was sent`
            : `${done} done, ${matched} matched; state in ${result.statePath}`,
        );
    }),
  );
}

/** One human line per step: `created sample wafer (0tbg…)`, `matched …`, `would …`. */
function describe(a: ApplyAction): string {
  const id = (local: string, uid: string | undefined) => (uid && uid !== local ? `${local} (${uid})` : local);
  const verb = (done: string, matched: string, planned: string) =>
    a.outcome === 'done' ? done : a.outcome === 'matched' ? matched : planned;
  const me = id(a.id, a.uniqueId);
  switch (a.action) {
    case 'create':
      return `${verb('created', 'matched', 'would create')} ${a.kind} ${me}`;
    case 'metadata':
      return `${verb('merged', 'matched', 'would merge')} metadata of ${a.kind} ${me}`;
    case 'keyword':
      return `${verb('added', 'matched', 'would add')} keyword ${JSON.stringify(a.keyword)} ${a.outcome === 'matched' ? 'of' : 'to'} dataset ${me}`;
    case 'link': {
      const other = id(a.to ?? '', a.toUniqueId);
      const what =
        a.kind === 'sample-child'
          ? `sample ${me} → child sample ${other}`
          : a.kind === 'dataset-child'
            ? `dataset ${me} → child dataset ${other}`
            : `dataset ${me} ↔ sample ${other}`;
      return `${verb('linked', 'matched link', 'would link')} ${what}`;
    }
    case 'upload':
      return a.outcome === 'matched'
        ? `matched ${a.file} in dataset ${me} (already held${a.mfid ? ` as ${a.mfid}` : ''})`
        : `${verb('uploaded', '', 'would upload')} ${a.file} to dataset ${me}${a.mfid ? ` as ${a.mfid}` : ''}`;
    case 'ingest': {
      const how = a.ingestionClass ? `class ${a.ingestionClass}` : 'the server picks the ingestor';
      return a.outcome === 'matched'
        ? `matched ingestion of ${a.file} in dataset ${me}`
        : `${verb('requested', '', 'would request')} ingestion of ${a.file} (${how})${a.requestId !== undefined ? `: request ${a.requestId}` : ''}`;
    }
  }
}
