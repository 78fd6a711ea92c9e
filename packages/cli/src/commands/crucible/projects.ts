import type { Command } from 'commander';
import { printJson, printNdjson, printTable } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { registerProjectMembers } from './project-members.js';
import { type ApiOptions, apiOptions, makeClient, requireText, wire } from './shared.js';

/** `sciport crucible projects list | create`. */
export function registerProjects(command: Command, { action }: CommandApi): void {
  const projects = command.command('projects').description('projects');
  registerProjectMembers(projects, { action }); // issue 13: graph
  apiOptions(projects.command('list').description('projects you can see')).action(
    action(async (ctx, o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      const rows: Array<Record<string, string>> = [];
      for await (const p of client.projects.list({ signal: ctx.signal })) {
        if (ctx.json) printNdjson(ctx.out, wire(p));
        else rows.push({ id: p.projectId, title: p.title ?? '', organization: p.organization ?? '' });
      }
      if (!ctx.json) {
        printTable(ctx, rows, [
          { header: 'id', value: 'id' },
          { header: 'title', value: 'title' },
          { header: 'organization', value: 'organization' },
        ]);
      }
    }),
  );
  apiOptions(
    projects
      .command('create')
      .description('create a project and print its id')
      .requiredOption('--id <project id>', 'the project id to create (e.g. MF-1234)')
      .requiredOption('--organization <name>', 'the organization it belongs to')
      .option('--title <title>', 'project title')
      .option('--lead-email <email>', "the project lead's email")
      .option('--lead-orcid <orcid>', "the project lead's ORCID"),
  ).action(
    action(
      async (
        ctx,
        o: ApiOptions & {
          id: string;
          organization: string;
          title?: string;
          leadEmail?: string;
          leadOrcid?: string;
        },
      ) => {
        requireText({ '--id': o.id, '--organization': o.organization });
        const client = await makeClient(ctx, o);
        const p = await client.projects.create(
          {
            projectId: o.id,
            organization: o.organization,
            ...(o.title ? { title: o.title } : {}),
            ...(o.leadEmail ? { leadEmail: o.leadEmail } : {}),
            ...(o.leadOrcid ? { leadOrcid: o.leadOrcid } : {}),
          },
          { signal: ctx.signal },
        );
        if (ctx.json) printJson(ctx.out, wire(p));
        else ctx.out.write(`${p.projectId}\n`);
      },
    ),
  );
}
