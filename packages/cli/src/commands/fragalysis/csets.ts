import path from 'node:path';
import { type CompoundSetTaskResult, checkPdbZip, checkSdfFile } from '@sciport/fragalysis';
import type { Command } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import { ExitError } from '../../exit-codes.js';
import { formatBytes, info, printJson, printNdjson, printTable, warn } from '../../output.js';
import type { CommandApi } from '../../program.js';
import type { TaskStatus } from '../../task-status.js';
import {
  endTaskStatus,
  makeClient,
  maxWait,
  resolveTas,
  type StackOptions,
  showTaskStatus,
  stackOption,
} from './shared.js';

/**
 * `sciport fragalysis csets list|download|upload`: compound sets (spec §4.13, §11.4). `download` saves the SDF
 * (or unpacks the zip of SDF and PDBs into `<out>/<set>/`) and the scores as `<out>/<set>.scores.csv`; `upload`
 * checks the files, sends them, and with `--wait` (always with `--validate-only`) prints the server's problems
 * per molecule; it exits 1 when the file did not validate.
 */

function describeTask(result: CompoundSetTaskResult) {
  return {
    task: { kind: result.task.kind, id: result.task.id },
    status: result.status,
    validated: result.validated,
    issues: result.issues,
    ...(result.message ? { message: result.message } : {}),
    ...(result.results ? { results: result.results } : {}),
  };
}

export function registerCsets(command: Command, { action }: CommandApi): void {
  const csets = command
    .command('csets')
    .description('compound sets (RHS, virtual hits): list, download, upload');

  stackOption(
    csets
      .command('list')
      .description('compound sets visible to you')
      .option('--target <title>', 'only the sets of this target (title, or title@tas)')
      .option('--tas <tas>', 'target access string (with --target, when two targets share the title)')
      .option('--name <name>', 'only the set of exactly this name'),
  ).action(
    action(async (ctx, options: StackOptions & { target?: string; tas?: string; name?: string }) => {
      const client = await makeClient(ctx, options);
      let targetId: number | undefined;
      if (options.target) {
        const at = options.target.lastIndexOf('@');
        const title = at > 0 ? options.target.slice(0, at) : options.target;
        const tas = options.tas ?? (at > 0 ? options.target.slice(at + 1) : undefined);
        targetId = (await client.targets.get(title, tas, { signal: ctx.signal })).id;
      }
      const sets = await client.compoundSets
        .list({
          signal: ctx.signal,
          ...(targetId !== undefined ? { target: targetId } : {}),
          ...(options.name ? { name: options.name } : {}),
          ...(!options.target && options.tas ? { tas: options.tas } : {}),
        })
        .toArray();
      if (ctx.json) {
        for (const s of sets) {
          printNdjson(ctx.out, {
            id: s.id,
            name: s.name,
            target: s.target ?? null,
            method: s.method ?? null,
            specVersion: s.specVersion ?? null,
            uploadDate: s.uploadDate ?? null,
          });
        }
        return;
      }
      printTable(ctx, sets, [
        { header: 'name', value: 'name' },
        { header: 'target', value: 'target', align: 'right' },
        { header: 'method', value: 'method' },
        { header: 'uploaded', value: 'uploadDate' },
      ]);
      info(ctx, `${sets.length} compound set${sets.length === 1 ? '' : 's'}`);
    }),
  );

  stackOption(
    csets
      .command('download')
      .description('save a compound set (its SDF, or its SDF and PDBs) and its scores (<set>.scores.csv)')
      .argument('<set>', 'the set name (exact)')
      .option('--out <dir>', 'folder to save into', '.'),
  ).action(
    action(async (ctx, name: string, options: StackOptions & { out: string }) => {
      const out = await checkOutFolder(options.out);
      const client = await makeClient(ctx, options);
      const result = await client.compoundSets.download(name, { destination: out, signal: ctx.signal });
      if (ctx.json) {
        printJson(ctx.out, result);
        return;
      }
      if (result.folder)
        info(ctx, `Unpacked ${name} (${formatBytes(result.bytes)} zip) into ${result.folder}`);
      else info(ctx, `Saved ${result.sdf} (${formatBytes(result.bytes)})`);
      if (result.missing.length) {
        warn(
          ctx,
          `${result.missing.length} file(s) missing on the server: ${result.missing.slice(0, 5).join(', ')}`,
        );
      }
      info(ctx, `Scores of ${result.molecules} molecule(s): ${result.scores}`);
    }),
  );

  stackOption(
    csets
      .command('upload')
      .description('check and upload an SDF of computed molecules (validate only, or upload)')
      .argument('<file.sdf>', 'the SD file (first record ver_1.2)')
      .requiredOption('--target <title>', 'the target title')
      .option('--tas <tas>', 'the target access string (you must be a member)')
      .option('--pdb-zip <file>', 'a zip of the PDB files the SDF names')
      .option('--validate-only', 'only validate it (waits and prints the problems per molecule)')
      .option('--update-set <name>', 'replace this set instead of adding one')
      .option('--wait', 'wait for the upload to finish and print the results')
      .option('--max-wait <seconds>', 'give up waiting after this long (default 1800)'),
  ).action(
    action(
      async (
        ctx,
        file: string,
        options: StackOptions & {
          target: string;
          tas?: string;
          pdbZip?: string;
          validateOnly?: boolean;
          updateSet?: string;
          wait?: boolean;
          maxWait?: string;
        },
      ) => {
        const wait = maxWait(options.maxWait);
        const client = await makeClient(ctx, options);
        // The files are checked first: nothing reaches the server when one is wrong.
        await checkSdfFile(file, ctx.signal);
        if (options.pdbZip) await checkPdbZip(options.pdbZip);
        const tas = await resolveTas(ctx, client, options.target, options.tas);
        const what = options.validateOnly ? 'Validating' : 'Uploading';
        info(ctx, `${what} ${file} for ${options.target} (${tas})…`);
        const kind = options.validateOnly ? 'validation' : 'upload';
        let status: TaskStatus | undefined;
        const { task, result } = await client.compoundSets
          .uploadFile(file, {
            target: options.target,
            tas,
            ...(options.pdbZip ? { pdbZip: options.pdbZip } : {}),
            ...(options.validateOnly ? { validateOnly: true } : {}),
            ...(options.updateSet ? { updateSet: options.updateSet } : {}),
            wait: options.wait === true,
            ...(wait ? { maxWaitTime: wait } : {}),
            signal: ctx.signal,
            // issue 15: the wait shows the task's state (a spinner on a terminal, JSON events with --json).
            onState: (state) => {
              status ??= showTaskStatus(ctx, client, {
                task: `cset-${kind}`,
                label: `compound-set ${kind} of ${path.basename(file)} for ${options.target} (${tas})`,
                target: options.target,
                tas,
              });
              status.update({ state });
            },
          })
          .catch((error: unknown) => {
            endTaskStatus(client);
            throw error;
          });
        endTaskStatus(client, result?.status);
        if (!result) {
          if (ctx.json) printJson(ctx.out, { task: { kind: task.kind, id: task.id, url: task.url } });
          else info(ctx, `Started ${task.kind} task ${task.id}; follow it at ${task.url}`);
          return;
        }
        if (ctx.json) printJson(ctx.out, describeTask(result));
        else {
          if (result.issues.length) {
            printTable(ctx, result.issues, [
              { header: 'molecule', value: 'molecule' },
              { header: 'field', value: 'field' },
              { header: 'warning', value: 'warning' },
            ]);
          }
          if (result.message) info(ctx, result.message);
          if (result.validated && result.results?.csetDownloadUrl) {
            info(ctx, `Uploaded: ${new URL(result.results.csetDownloadUrl, `${client.baseUrl}/`).href}`);
            if (result.results.psetDownloadUrl)
              info(ctx, `Protein set: ${new URL(result.results.psetDownloadUrl, `${client.baseUrl}/`).href}`);
          } else if (result.validated) info(ctx, `${file} validated`);
        }
        if (!result.validated) {
          throw new ExitError(
            1,
            `${file} did not validate: ${result.issues.length} problem(s)${result.issues.length ? ' (listed above)' : ''}`,
          );
        }
      },
    ),
  );
}
