import { envNames, MissingCredentialsError, UsageError } from '@sciport/core';
import { CRUCIBLE_SETTINGS, type CrucibleClient, DEFAULT_CRUCIBLE_BASE_URL } from '@sciport/crucible';
import type { Command } from 'commander';
import { Option } from 'commander';
import { resolveSettings } from '../../client-factory.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient } from './shared.js';

/** `sciport crucible open: the explorer page of a dataset or sample`. */
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
        new Option('--type <type>', 'the page: dataset, sample (graph) or main (default: looked up)').choices(
          ['dataset', 'sample', 'main'],
        ),
      )
      .option(
        '--explorer-url <url>',
        `the explorer (default ${envNames(CRUCIBLE_SETTINGS.explorerUrl).join(' or ')}, config ${CRUCIBLE_SETTINGS.explorerUrl.configKey}, or <API origin>/explore)`,
      ),
  ).action(
    action(
      async (
        ctx,
        id: string,
        o: ApiOptions & {
          print?: boolean;
          project?: string;
          type?: 'dataset' | 'sample' | 'main';
          explorerUrl?: string;
        },
      ) => {
        const found = await resolveSettings(ctx, CRUCIBLE_SETTINGS, {
          explorerUrl: { flag: o.explorerUrl },
          baseUrl: { flag: o.apiUrl },
          currentProject: {},
        });
        const explorerBase = found.explorerUrl;
        const apiUrl = found.baseUrl ?? DEFAULT_CRUCIBLE_BASE_URL;
        const base = explorerBase ?? `${new URL(apiUrl).origin}/explore`;
        let root: string;
        try {
          root = new URL(base).href.replace(/\/+$/, '');
        } catch {
          throw new UsageError(`Not a URL: ${base} (the Crucible explorer)`);
        }
        let project = o.project;
        let type = o.type;
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
            type ??= found.type === 'sample' ? 'sample' : found.type === 'dataset' ? 'dataset' : 'main';
          }
          project ??= found.currentProject;
        }
        const mfid = encodeURIComponent(id);
        const explorer = !project
          ? `${root}/${mfid}`
          : `${root}/${encodeURIComponent(project)}/${
              type === 'sample'
                ? `sample-graph/${mfid}`
                : type === 'dataset' || type === undefined
                  ? `dataset/${mfid}`
                  : mfid
            }`;
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
