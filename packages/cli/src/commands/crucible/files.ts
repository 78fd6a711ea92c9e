import { createInterface } from 'node:readline/promises';
import { UsageError } from '@sciport/core';
import type { CrucibleClient, CrucibleFile } from '@sciport/crucible';
import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitError } from '../../exit-codes.js';
import { formatBytes, info, printJson, printNdjson, printTable } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { escapeTerminal } from '../../terminal.js';
import { type ApiOptions, apiOptions, makeClient, wire } from './shared.js';

/**
 * `sciport crucible files find --sha256 HEX` (which datasets hold that content) and
 * `sciport crucible files delete <dataset> <file>` (spec §19.7): asks first on a terminal, needs `--yes`
 * otherwise.
 */
export function registerFiles(command: Command, api: CommandApi): void {
  const { action } = api;
  const files = command.command('files').description('files: find by content, delete');
  apiOptions(
    files
      .command('find')
      .description('the files (and so the datasets) holding content with this SHA-256')
      .requiredOption('--sha256 <hex>', 'the SHA-256 of the content, 64 hexadecimal characters'),
  ).action(
    action(async (ctx, o: ApiOptions & { sha256: string }) => {
      const client = await makeClient(ctx, o);
      const rows: Array<Record<string, string>> = [];
      for await (const f of client.files.find({ sha256: o.sha256 }, { signal: ctx.signal })) {
        if (ctx.json) printNdjson(ctx.out, wire(f));
        else
          rows.push({
            dataset: f.datasetMfid ?? '',
            file: f.mfid ?? '',
            size: typeof f.size === 'number' ? formatBytes(f.size) : '',
            name: f.storagePath ?? f.filename,
          });
      }
      if (ctx.json) return;
      if (rows.length === 0) info(ctx, 'No readable dataset holds a file with that content');
      else
        printTable(ctx, rows, [
          { header: 'dataset', value: 'dataset' },
          { header: 'file', value: 'file' },
          { header: 'size', value: 'size', align: 'right' },
          { header: 'name', value: 'name' },
        ]);
    }),
  );
  apiOptions(
    files
      .command('delete')
      .description('delete a file of a dataset (asks first; --yes when not on a terminal)')
      .argument('<dataset>', 'dataset id')
      .argument('<file>', 'file id (MFID), its path in the dataset, or a name unique in the dataset')
      .option('-y, --yes', 'do not ask'),
  ).action(
    action(async (ctx, dsid: string, target: string, o: ApiOptions & { yes?: boolean }) => {
      const interactive = ctx.stdin.isTTY === true && ctx.err.isTTY;
      if (!o.yes && !interactive)
        throw new UsageError('Deleting a file needs --yes when not run on a terminal (nothing was deleted)');
      const client = await makeClient(ctx, o);
      const { file, name } = await pickFile(client, dsid, target, ctx.signal);
      const mfid = file.mfid as string;
      if (!o.yes && !(await confirm(ctx, `Delete ${name} (${mfid}) from dataset ${dsid}? [y/N] `))) {
        info(ctx, 'Nothing deleted');
        throw new ExitError(1);
      }
      await client.files.delete(mfid, { signal: ctx.signal });
      if (ctx.json) printJson(ctx.out, { deleted: mfid, dataset: dsid, name });
      else info(ctx, `Deleted ${name} (${mfid}) from ${dsid}`);
    }),
  );
}

/** A file's path in its dataset: below `mf-storage-prod/<dsid>/` once ingested, else its recorded name. */
function pathIn(file: CrucibleFile, dsid: string): string {
  const prefix = `mf-storage-prod/${dsid}/`;
  if (file.storagePath?.startsWith(prefix)) return file.storagePath.slice(prefix.length);
  return file.filename;
}

const lastSegment = (name: string) => name.split(/[\\/]/).pop() ?? name;

/** The file of `dsid` that `target` names: its MFID, its path, or a last path segment no other file shares. */
async function pickFile(
  client: CrucibleClient,
  dsid: string,
  target: string,
  signal: AbortSignal,
): Promise<{ file: CrucibleFile; name: string }> {
  const all = (await client.files.list(dsid, { signal }).toArray()).filter((f) => f.mfid);
  const named = all.map((file) => ({ file, name: pathIn(file, dsid) }));
  const exact = named.find(
    (n) =>
      n.file.mfid === target ||
      n.name === target ||
      n.file.storagePath === target ||
      n.file.filename === target,
  );
  if (exact) return exact;
  const byName = named.filter((n) => lastSegment(n.name) === target);
  if (byName.length === 1) return byName[0] as { file: CrucibleFile; name: string };
  const show = (list: typeof named) =>
    list
      .slice(0, 20)
      .map((n) => `${n.name} (${n.file.mfid})`)
      .join(', ') + (list.length > 20 ? `, … ${list.length - 20} more` : '');
  if (byName.length > 1)
    throw new UsageError(
      `${target} names ${byName.length} files of ${dsid}: give its path or id: ${show(byName)}`,
    );
  throw new ExitError(
    4,
    all.length === 0
      ? `Dataset ${dsid} has no files`
      : `Dataset ${dsid} has no file ${target}; it has: ${show(named)}`,
  );
}

/** Asks a yes/no question on the terminal (stderr), `false` unless the answer starts with y. */
async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  const rl = createInterface({
    input: ctx.stdin,
    output: ctx.err.stream as NodeJS.WritableStream,
    terminal: false,
  });
  try {
    // Listening before asking: an answer typed ahead (or piped into a pseudo-terminal) is not lost.
    const answer = new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
    });
    ctx.err.write(escapeTerminal(question));
    return /^\s*y(es)?\s*$/i.test(await answer);
  } finally {
    rl.close();
  }
}
