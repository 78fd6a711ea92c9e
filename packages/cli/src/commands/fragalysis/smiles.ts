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
      .description('the unique SMILES of a target’s compounds')
      .argument('<target>', 'target title (with --tas, or title@tas)')
      .option('--tas <tas>', 'target access string')
      .option('--format <format>', 'smi, csv or json', 'smi'),
  ).action(
    action(async (ctx, spec: string, options: StackOptions & { tas?: string; format: string }) => {
      if (!['smi', 'csv', 'json'].includes(options.format)) {
        throw new UsageError(`--format must be smi, csv or json, got ${options.format}`);
      }
      const parsed = parseTarget(spec);
      const client = await makeClient(ctx, options);
      const tas = await resolveTas(ctx, client, parsed.title, options.tas ?? parsed.tas);
      const smiles = await client.observations.smiles(parsed.title, tas, { signal: ctx.signal }).toArray();
      if (ctx.json || options.format === 'json') printJson(ctx.out, { target: parsed.title, tas, smiles });
      else if (options.format === 'csv') {
        ctx.out.write(stringify([['target', 'tas', 'smiles'], ...smiles.map((s) => [parsed.title, tas, s])]));
      } else if (smiles.length > 0) ctx.out.write(`${smiles.join('\n')}\n`);
      info(ctx, `${smiles.length} compounds in ${parsed.title} (${tas})`);
    }),
  );
}
