import { UsageError } from '@sciport/core';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { makeClient, parseTarget, resolveTas, type StackOptions, stackOption } from './shared.js';

/** `sciport fragalysis smiles <target>`: the unique SMILES of a target's compounds. */
export function registerSmiles(command: Command, { action }: CommandApi): void {
  stackOption(
    command
      .command('smiles')
      .description('the unique SMILES of a target’s compounds, each with its compound code')
      .argument('<target>', 'target title (with --tas, or title@tas)')
      .option('--tas <tas>', 'target access string')
      .option(
        '--format <format>',
        'smi (SMILES<TAB>code, a SMILES file), csv (target,tas,smiles,compound_code) or json',
        'smi',
      ),
  ).action(
    action(async (ctx, spec: string, options: StackOptions & { tas?: string; format: string }) => {
      if (!['smi', 'csv', 'json'].includes(options.format)) {
        throw new UsageError(`--format must be smi, csv or json, got ${options.format}`);
      }
      const parsed = parseTarget(spec);
      const client = await makeClient(ctx, options);
      const tas = await resolveTas(ctx, client, parsed.title, options.tas ?? parsed.tas);
      // issue 15: each SMILES with its compound code, where the server gives one (spec §4.10).
      const compounds = await client.observations
        .compounds(parsed.title, tas, { signal: ctx.signal })
        .toArray();
      const smiles = compounds.map((c) => c.smiles);
      if (ctx.json || options.format === 'json')
        printJson(ctx.out, {
          target: parsed.title,
          tas,
          smiles,
          compounds: compounds.map((c) => ({
            smiles: c.smiles,
            compoundCode: c.compoundCode ?? null,
            observations: c.observations,
          })),
        });
      else if (options.format === 'csv') {
        ctx.out.write(
          stringify([
            ['target', 'tas', 'smiles', 'compound_code'],
            ...compounds.map((c) => [parsed.title, tas, c.smiles, c.compoundCode ?? '']),
          ]),
        );
      } else if (compounds.length > 0) {
        // A SMILES file: the SMILES first, then its name (RDKit, Open Babel and friends read it so).
        ctx.out.write(
          compounds.map((c) => (c.compoundCode ? `${c.smiles}\t${c.compoundCode}` : c.smiles)).join('\n') +
            '\n',
        );
      }
      info(ctx, `${smiles.length} compounds in ${parsed.title} (${tas})`);
    }),
  );
}
