import { envNames, MissingCredentialsError, UsageError } from '@sciport/core';
import {
  CRUCIBLE_SETTINGS,
  type CrucibleClient,
  DEFAULT_CRUCIBLE_EXPLORER_URL,
  explorerUrl,
} from '@sciport/crucible';
import type { Command } from 'commander';
import { Option } from 'commander';
import { resolveSettings } from '../../client-factory.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient } from './shared.js';

/** `sciport crucible open`: the explorer page of a dataset or sample (spec §19.1). */
export function registerOpen(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('open')
      .description('print (or open in a browser) the explorer page of a dataset or sample')
      .argument('<id>', 'dataset or sample id')
      .option('--print', 'only print the URL (default when not on a terminal)')
      .option(
        '--project <id>',
        `its project (default: looked up, else ${CRUCIBLE_SETTINGS.currentProject.env})`,
      )
      .addOption(
        new Option('--type <type>', 'the page: dataset or sample (default: looked up)').choices([
          'dataset',
          'sample',
        ]),
      )
      .option(
        '--explorer-url <url>',
        `the explorer (default ${envNames(CRUCIBLE_SETTINGS.explorerUrl).join(' or ')}, config ${CRUCIBLE_SETTINGS.explorerUrl.configKey}; else ${DEFAULT_CRUCIBLE_EXPLORER_URL})`,
      ),
  ).action(
    action(
      async (
        ctx,
        id: string,
        o: ApiOptions & {
          print?: boolean;
          project?: string;
          type?: 'dataset' | 'sample';
          explorerUrl?: string;
        },
      ) => {
        const found = await resolveSettings(ctx, CRUCIBLE_SETTINGS, {
          explorerUrl: { flag: o.explorerUrl },
          baseUrl: { flag: o.apiUrl },
          currentProject: {},
        });
        const base = found.explorerUrl ?? DEFAULT_CRUCIBLE_EXPLORER_URL;
        // A bad explorer URL fails before any request.
        explorerUrl({ type: 'dataset', id, projectId: 'check' }, base);
        let project = o.project;
        let type: string | undefined = o.type;
        if (project === undefined || type === undefined) {
          // The explorer's pages are per project: ask the API what the id is, when a key is at hand.
          let client: CrucibleClient | undefined;
          try {
            client = await makeClient(ctx, o);
          } catch (error) {
            if (!MissingCredentialsError.isInstance(error)) throw error;
          }
          if (client) {
            const found = await client.resources.get(id, { signal: ctx.signal });
            project ??= found.projectId;
            type ??= found.type;
          }
          project ??= found.currentProject;
        }
        if (type !== undefined && type !== 'dataset' && type !== 'sample')
          throw new UsageError(`${id} is a ${type}: the explorer has pages for datasets and samples only`);
        const explorer = explorerUrl({ type: type ?? 'dataset', id, projectId: project }, base);
        if (explorer === undefined)
          throw new UsageError(
            `No explorer page without a project: give --project, or set ${CRUCIBLE_SETTINGS.currentProject.env}`,
          );
        ctx.out.write(`${explorer}\n`);
        if (!o.print && ctx.out.isTTY && !ctx.json) {
          const { spawn } = await import('node:child_process');
          const opener =
            process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
          spawn(opener, [explorer], { stdio: 'ignore', detached: true })
            .on('error', () => undefined)
            .unref();
        }
      },
    ),
  );
}
