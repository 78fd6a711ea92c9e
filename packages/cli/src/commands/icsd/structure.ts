import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type SciportError, toSciportError, UsageError } from '@sciport/core';
import { writeFileAtomic } from '@sciport/core/node';
import {
  CifStructureError,
  type CrystalStructure,
  parseCif,
  toOptimade,
  toPoscar,
  toStructureJson,
  toXyz,
} from '@sciport/icsd';
import { type Command, Option } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import type { CliContext } from '../../context.js';
import { ExitCode, ExitError, exitCodeFor } from '../../exit-codes.js';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { escapeTerminal } from '../../terminal.js';
import { type ConnectionOptions, connectionOptions, makeClient } from './shared.js';
import { classifyOperands, fetchByCode, type Operand } from './structure-sources.js';

/**
 * `sciport icsd structure <code-or-file...>`: crystal structures from CIFs, as sciport JSON, OPTIMADE, POSCAR
 * or extended XYZ. One document per operand, to stdout (JSON formats one object per line) or, with `--out`,
 * one file each, `icsd_<collection code>.<ext>` (the code as written, not padded):
 * `icsd_1975.json`, `icsd_1975.optimade.json`, `icsd_1975.vasp` (the extension VASP tools, ASE and pymatgen
 * recognise), `icsd_1975.xyz`.
 */

export const STRUCTURE_FORMATS = ['json', 'optimade', 'poscar', 'xyz'] as const;
export type StructureFormatName = (typeof STRUCTURE_FORMATS)[number];

/** The file extension of each format (`--out`). */
export const STRUCTURE_EXTENSIONS: Readonly<Record<StructureFormatName, string>> = {
  json: '.json',
  optimade: '.optimade.json',
  poscar: '.vasp',
  xyz: '.xyz',
};

/** One document in the format: JSON formats are one line. */
export function renderStructure(structure: CrystalStructure, format: StructureFormatName): string {
  switch (format) {
    case 'json':
      return `${toStructureJson(structure)}\n`;
    case 'optimade':
      return `${JSON.stringify(toOptimade(structure))}\n`;
    case 'poscar':
      return toPoscar(structure);
    case 'xyz':
      return toXyz(structure);
  }
}

/** The file name of a structure: `icsd_<collection code>` with the format's extension. */
function outputName(structure: CrystalStructure, operand: Operand, format: StructureFormatName): string {
  const ext = STRUCTURE_EXTENSIONS[format];
  if (structure.collectionCode !== null && structure.collectionCode > 0)
    return `icsd_${structure.collectionCode}${ext}`;
  // A local CIF without a collection code keeps its own name.
  return path.basename(operand.operand).replace(/\.cif$/i, '') + ext;
}

interface Failure {
  operand: string;
  collectionCode: number | null;
  exitCode: number;
  error: SciportError;
}

export function registerStructure(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent
      .command('structure')
      .description('crystal structures from CIF files or collection codes: json, optimade, poscar or xyz')
      .argument('<code-or-file...>', 'ICSD collection codes, or .cif files to read locally (no login needed)')
      .addOption(
        new Option('--format <format>', 'output format').choices([...STRUCTURE_FORMATS]).default('json'),
      )
      .option(
        '--out <dir>',
        'write one file per operand into this folder (icsd_<code>.json, .optimade.json, .vasp, .xyz)',
      ),
  ).action(
    action(
      async (
        ctx,
        args: string[],
        options: ConnectionOptions & { format: StructureFormatName; out?: string },
      ) => {
        const format = options.format;
        if (ctx.json && !options.out && (format === 'poscar' || format === 'xyz'))
          throw new UsageError(`--json writes only JSON to stdout; with --format ${format}, add --out <dir>`);
        const out = options.out === undefined ? undefined : await checkOutFolder(options.out);
        const operands = await classifyOperands(args);
        const codes = operands.flatMap((o) => (o.kind === 'code' ? [o.code] : []));
        const fetched =
          codes.length > 0 ? await fetchByCode(await makeClient(ctx, options), codes, ctx.signal) : new Map();
        if (out) await mkdir(out, { recursive: true });

        const written: { operand: string; collectionCode: number | null; file?: string }[] = [];
        const failures: Failure[] = [];
        for (const operand of operands) {
          const code = operand.kind === 'code' ? operand.code : null;
          try {
            const text = await textOf(operand, fetched);
            const structure = parseCif(text, { source: path.basename(operand.operand) });
            const document = renderStructure(structure, format);
            if (out) {
              const file = path.join(out, outputName(structure, operand, format));
              await writeFileAtomic(file, document, { signal: ctx.signal });
              written.push({ operand: operand.operand, collectionCode: structure.collectionCode, file });
            } else {
              ctx.out.write(document);
              written.push({ operand: operand.operand, collectionCode: structure.collectionCode });
            }
          } catch (error) {
            if (ctx.signal.aborted) throw error;
            const failure = {
              operand: operand.operand,
              collectionCode: code,
              exitCode: exitCodeFor(error),
              error: toSciportError(error),
            };
            failures.push(failure);
            reportFailure(ctx, failure);
          }
        }
        finish(ctx, { out, format, written, failures, total: operands.length });
      },
    ),
  );
}

async function textOf(operand: Operand, fetched: Map<number, string | Error>): Promise<string> {
  if (operand.kind === 'bad') throw operand.error;
  if (operand.kind === 'file') return readFile(operand.path, 'utf8');
  const text = fetched.get(operand.code);
  if (text === undefined || text instanceof Error)
    throw text ?? new Error(`collection code ${operand.code} was not fetched`);
  return text;
}

/** One failed operand on stderr: a line naming it (and the CIF line), or a JSON line under `--json`. */
function reportFailure(ctx: CliContext, failure: Failure): void {
  const e = failure.error;
  if (ctx.json) {
    ctx.err.write(
      `${JSON.stringify({
        level: 'error',
        operand: failure.operand,
        collectionCode: failure.collectionCode,
        exitCode: failure.exitCode,
        ...e.toJSON(),
      })}\n`,
    );
    return;
  }
  ctx.err.write(`sciport: ${escapeTerminal(`${failure.operand}: ${e.message}`, { inline: true })}\n`);
}

function finish(
  ctx: CliContext,
  result: {
    out: string | undefined;
    format: StructureFormatName;
    written: { operand: string; collectionCode: number | null; file?: string }[];
    failures: Failure[];
    total: number;
  },
): void {
  const { out, written, failures } = result;
  if (ctx.json && out) {
    printJson(ctx.out, {
      dir: out,
      format: result.format,
      written,
      failed: failures.map((f) => ({
        operand: f.operand,
        collectionCode: f.collectionCode,
        exitCode: f.exitCode,
        code: f.error.code,
        message: f.error.message,
        ...(CifStructureError.isInstance(f.error)
          ? { problem: f.error.problem, entry: f.error.entry, line: f.error.line }
          : {}),
      })),
    });
  } else if (out) {
    info(ctx, `${written.length} of ${result.total} written in ${out}`);
  }
  if (failures.length === 0) return;
  // One kind of failure gives its own exit code (4: codes that do not exist, 1: invalid CIFs, 2: bad operands).
  const kinds = new Set(failures.map((f) => f.exitCode));
  const code = kinds.size === 1 ? (failures[0] as Failure).exitCode : ExitCode.Error;
  throw new ExitError(
    code,
    ctx.json
      ? ''
      : `${failures.length} of ${result.total} operand${result.total === 1 ? '' : 's'} failed (see above)`,
  );
}
