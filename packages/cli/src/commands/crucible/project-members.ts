import { UsageError } from '@sciport/core';
import type { CrucibleJoinRequest, CrucibleUser, JoinRequestStatus, MemberRef } from '@sciport/crucible';
import { type Command, Option } from 'commander';
import { formatTimestamp, info, printJson, printNdjson, printTable, timeHeader } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient, wire } from './shared.js';

/**
 * `sciport crucible projects members list|add|remove|requests|approve|reject` and `projects join` (spec
 * §19.8): added to the `projects` group by `registerProjects`.
 */
export function registerProjectMembers(projects: Command, { action }: CommandApi): void {
  const members = projects.command('members').description('project members and join requests');

  apiOptions(
    members
      .command('list')
      .description('the members of a project (not its lead)')
      .argument('<project>', 'project id'),
  ).action(
    action(async (ctx, pid: string, o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      const users: CrucibleUser[] = [];
      for await (const u of client.projects.users(pid, { signal: ctx.signal })) {
        if (ctx.json) printNdjson(ctx.out, wire(u));
        else users.push(u);
      }
      if (!ctx.json) printUsers(ctx, users);
    }),
  );

  for (const verb of ['add', 'remove'] as const) {
    apiOptions(
      members
        .command(verb)
        .description(`${verb} a member, by ORCID, --email or --username`)
        .argument('<project>', 'project id')
        .argument('[orcid]', 'the user’s ORCID (unique id)')
        .option('--email <email>', 'the user’s email')
        .option('--username <name>', 'the user’s username'),
    ).action(
      action(
        async (
          ctx,
          pid: string,
          orcid: string | undefined,
          o: ApiOptions & { email?: string; username?: string },
        ) => {
          const who = memberRef(orcid, o);
          const client = await makeClient(ctx, o);
          const name = Object.values(who)[0] as string;
          if (verb === 'add') {
            const after = await client.projects.addMember(pid, who, { signal: ctx.signal });
            if (ctx.json) for (const u of after) printNdjson(ctx.out, wire(u));
            else info(ctx, `Added ${name} to ${pid}; ${after.length} member(s) now`);
          } else {
            await client.projects.removeMember(pid, who, { signal: ctx.signal });
            if (ctx.json) printJson(ctx.out, { removed: name, project: pid });
            else info(ctx, `Removed ${name} from ${pid}`);
          }
        },
      ),
    );
  }

  apiOptions(
    members
      .command('requests')
      .description('requests to join a project, newest first (the lead or an admin)')
      .argument('<project>', 'project id')
      .addOption(new Option('--status <status>', 'only these').choices(['pending', 'approved', 'rejected'])),
  ).action(
    action(async (ctx, pid: string, o: ApiOptions & { status?: JoinRequestStatus }) => {
      const client = await makeClient(ctx, o);
      const rows: CrucibleJoinRequest[] = [];
      const list = client.projects.joinRequests({
        groupName: pid,
        ...(o.status ? { status: o.status } : {}),
        signal: ctx.signal,
      });
      for await (const r of list) {
        if (ctx.json) printNdjson(ctx.out, wire(r));
        else rows.push(r);
      }
      if (ctx.json) return;
      if (rows.length === 0) info(ctx, `No${o.status ? ` ${o.status}` : ''} join requests for ${pid}`);
      else
        printTable(ctx, rows, [
          { header: 'id', value: (r) => r.id },
          { header: 'requester', value: (r) => r.requesterId ?? '' },
          { header: 'status', value: (r) => r.status },
          { header: timeHeader('requested'), value: (r) => formatTimestamp(r.requestTime) },
          { header: 'reason', value: (r) => r.reason ?? '' },
        ]);
    }),
  );

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    apiOptions(
      members
        .command(verb)
        .description(`${verb} a join request (the lead or an admin)`)
        .argument('<request-id>', 'join request id (see `members requests`)')
        .option('--notes <text>', 'a note for the requester'),
    ).action(
      action(async (ctx, requestId: string, o: ApiOptions & { notes?: string }) => {
        if (!/^\d+$/.test(requestId) && !/^[A-Za-z0-9_-]+$/.test(requestId))
          throw new UsageError(`Not a join request id: ${requestId}`);
        const client = await makeClient(ctx, o);
        const r = await client.projects.answerJoinRequest(
          requestId,
          decision,
          o.notes !== undefined ? { notes: o.notes } : {},
          { signal: ctx.signal },
        );
        if (ctx.json) printJson(ctx.out, wire(r));
        else
          info(
            ctx,
            `Join request ${r.id} of ${r.requesterId ?? 'unknown'} to ${r.groupName ?? '?'}: ${r.status}`,
          );
      }),
    );
  }

  apiOptions(
    projects
      .command('join')
      .description('ask to join a project (its lead answers)')
      .argument('<project>', 'project id')
      .option('--reason <text>', 'why, for the lead'),
  ).action(
    action(async (ctx, pid: string, o: ApiOptions & { reason?: string }) => {
      const client = await makeClient(ctx, o);
      const r = await client.projects.join(pid, o.reason !== undefined ? { reason: o.reason } : {}, {
        signal: ctx.signal,
      });
      if (ctx.json) printJson(ctx.out, wire(r));
      else info(ctx, `Asked to join ${pid}: request ${r.id} is ${r.status}`);
    }),
  );
}

function memberRef(orcid: string | undefined, o: { email?: string; username?: string }): MemberRef {
  const given = [orcid, o.email, o.username].filter((v) => v !== undefined);
  if (given.length !== 1)
    throw new UsageError('Name the user by one of: an ORCID argument, --email or --username');
  if (orcid !== undefined) return { orcid };
  if (o.email !== undefined) return { email: o.email };
  return { username: o.username as string };
}

function printUsers(ctx: Parameters<typeof printTable>[0], users: readonly CrucibleUser[]): void {
  printTable(ctx, users, [
    { header: 'id', value: (u) => u.uniqueId ?? '' },
    { header: 'username', value: (u) => u.username ?? '' },
    { header: 'name', value: (u) => [u.firstName, u.lastName].filter(Boolean).join(' ') },
    { header: 'email', value: (u) => u.email ?? '' },
  ]);
}
