import { CSV_PROPERTIES, EXPERT_FIELDS } from '@sciport/icsd';
import type { Command } from 'commander';
import { printJson, printTable } from '../../output.js';
import type { CommandApi } from '../../program.js';

/** `sciport icsd fields`: the expert-search fields and the CSV properties (no request, no credentials). */
export function registerFields(parent: Command, { action }: CommandApi): void {
  parent
    .command('fields')
    .description('list the expert-search fields and the CSV properties')
    .action(
      action(async (ctx) => {
        if (ctx.json) {
          printJson(ctx.out, {
            searchFields: EXPERT_FIELDS.map((f) => ({
              field: f.field,
              key: f.key,
              group: f.group,
              description: f.description,
            })),
            properties: CSV_PROPERTIES,
          });
          return;
        }
        ctx.out.write('Expert search fields (--expert "FIELD : value and …"):\n');
        printTable(ctx, EXPERT_FIELDS, [
          { header: 'field', value: 'field' },
          { header: 'group', value: 'group' },
          { header: 'value', value: 'description' },
        ]);
        ctx.out.write(`\nCSV properties (--properties a,b):\n${CSV_PROPERTIES.join('\n')}\n`);
      }),
    );
}
