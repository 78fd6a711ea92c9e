import type { Command } from 'commander';
import { printJson, printNdjson, printTable } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient, requireText, wire } from './shared.js';

/** `sciport crucible instruments list | get | create`. */
export function registerInstruments(command: Command, { action }: CommandApi): void {
  const instruments = command.command('instruments').description('instruments');
  apiOptions(
    instruments
      .command('list')
      .description('instruments, with their id, location and owner')
      .option('--name <name>', 'only the instrument of this name'),
  ).action(
    action(async (ctx, o: ApiOptions & { name?: string }) => {
      const client = await makeClient(ctx, o);
      const rows: Array<Record<string, string>> = [];
      for await (const i of client.instruments.list({
        signal: ctx.signal,
        ...(o.name ? { name: o.name } : {}),
      })) {
        if (ctx.json) printNdjson(ctx.out, wire(i));
        else
          rows.push({
            id: i.uniqueId ?? '',
            name: i.instrumentName,
            location: i.location ?? '',
            owner: i.owner ?? '',
          });
      }
      if (!ctx.json) {
        printTable(ctx, rows, [
          { header: 'id', value: 'id' },
          { header: 'name', value: 'name' },
          { header: 'location', value: 'location' },
          { header: 'owner', value: 'owner' },
        ]);
      }
    }),
  );
  apiOptions(
    instruments
      .command('get')
      .description('one instrument as JSON, by id or by name')
      .argument('<id-or-name>', 'instrument id (MFID) or name')
      .option('--by-name', 'look it up by name (the default for what is not an MFID)'),
  ).action(
    action(async (ctx, key: string, o: ApiOptions & { byName?: boolean }) => {
      const client = await makeClient(ctx, o);
      // MFIDs are 26 characters of Crockford base32; anything else is a name (`titanx`, `photobox`).
      const byName = o.byName === true || !/^[0-9a-hjkmnp-tv-z]{26}$/i.test(key);
      const found = await client.instruments.get(key, { signal: ctx.signal, ...(byName ? { byName } : {}) });
      printJson(ctx.out, wire(found));
    }),
  );
  apiOptions(
    instruments
      .command('create')
      .description('register an instrument and print its id')
      .requiredOption('--name <name>', 'instrument name (unique)')
      .requiredOption('--owner <owner>', 'who runs it (a person or a facility)')
      .requiredOption('--location <location>', 'where it is (building, room)')
      .option('--manufacturer <text>', 'manufacturer')
      .option('--model <text>', 'model')
      .option('--type <text>', 'instrument type (e.g. TEM, XRD)'),
  ).action(
    action(
      async (
        ctx,
        o: ApiOptions & {
          name: string;
          owner: string;
          location: string;
          manufacturer?: string;
          model?: string;
          type?: string;
        },
      ) => {
        requireText({ '--name': o.name, '--owner': o.owner, '--location': o.location });
        const client = await makeClient(ctx, o);
        const i = await client.instruments.create(
          {
            instrumentName: o.name,
            owner: o.owner,
            location: o.location,
            ...(o.manufacturer ? { manufacturer: o.manufacturer } : {}),
            ...(o.model ? { model: o.model } : {}),
            ...(o.type ? { instrumentType: o.type } : {}),
          },
          { signal: ctx.signal },
        );
        if (ctx.json) printJson(ctx.out, wire(i));
        else ctx.out.write(`${i.uniqueId ?? i.instrumentName}\n`);
      },
    ),
  );
}
