import { NotFoundError, UsageError } from '@sciport/core';
import {
  type CrucibleClient,
  type CrucibleGraph,
  type CrucibleGraphNode,
  cutGraph,
  renderTree,
} from '@sciport/crucible';
import type { Command } from 'commander';
import { ExitError } from '../../exit-codes.js';
import { printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { escapeTerminal } from '../../terminal.js';
import { type ApiOptions, apiOptions, makeClient } from './shared.js';

/**
 * `sciport crucible tree <id> [--depth N] [--project]`: the parent/child graph around a dataset or sample
 * (spec §19.4, sciport's choice): the whole connected component (`recursive=true`), or with `--project` the
 * project's graph (of `<id>`, or of the project holding `<id>`); `--depth N` keeps what is at most N edges from `<id>`, direction ignored. An indented tree
 * for people; `--json` prints `{root, nodes: [{id, name, type}], edges: [{source, target}]}` as the server
 * gave them (within the depth), edges in their stored direction.
 */
export function registerTree(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('tree')
      .description('the parent/child graph around a dataset or sample, or of a project (--project)')
      .argument('<id>', 'dataset or sample id (with --project: a project id)')
      .option('--depth <n>', 'keep resources at most N links from <id>, in either direction')
      .option('--project', '<id> is a project: draw all its datasets and samples'),
  ).action(
    action(async (ctx, id: string, o: ApiOptions & { depth?: string; project?: boolean }) => {
      const depth = depthOption(o.depth);
      const client = await makeClient(ctx, o);
      const full = o.project
        ? await projectGraph(client, id, ctx.signal)
        : await client.resources.graph(id, { recursive: true, signal: ctx.signal });
      const inGraph = full.nodes.some((n) => n.id === id);
      if (!o.project && !inGraph)
        throw new ExitError(4, `Crucible's graph of ${id} does not hold it: no such dataset or sample`);
      if (o.project && !inGraph && depth !== undefined)
        throw new UsageError(
          '--depth counts links from a dataset or sample: give one of the project, not its id',
        );
      const graph = inGraph ? cutGraph(full, id, depth) : full;
      if (ctx.json) {
        printJson(ctx.out, {
          root: id,
          nodes: graph.nodes.map((n) => ({ id: n.id, name: n.name ?? null, type: n.type ?? null })),
          edges: graph.edges.map((e) => ({ source: e.source, target: e.target })),
        });
        return;
      }
      if (graph.nodes.length === 0) {
        ctx.out.write(`${escapeTerminal(id, { inline: true })}: nothing to show\n`);
        return;
      }
      ctx.out.write(
        renderTree(graph, {
          ...(inGraph ? { root: id } : {}),
          label: (n) => label(n),
        }),
      );
    }),
  );
}

/**
 * `--project`: the graph of project `<id>`; when no project has that id but a dataset or sample does, the graph
 * of its project (so that `--depth` can count from it).
 */
async function projectGraph(client: CrucibleClient, id: string, signal: AbortSignal): Promise<CrucibleGraph> {
  try {
    return await client.projects.graph(id, { signal });
  } catch (error) {
    if (!NotFoundError.isInstance(error)) throw error;
    let projectId: string | undefined;
    try {
      projectId = (await client.resources.get(id, { signal })).projectId;
    } catch {
      throw error;
    }
    if (!projectId) throw error;
    return client.projects.graph(projectId, { signal });
  }
}

/** `name  [type id]`, every piece of server text escaped for the terminal. */
function label(n: CrucibleGraphNode): string {
  const safe = (text: string) => escapeTerminal(text, { inline: true });
  const kind = safe(n.type ?? 'resource');
  return n.name ? `${safe(n.name)}  [${kind} ${safe(n.id)}]` : `[${kind} ${safe(n.id)}]`;
}

function depthOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--depth must be a whole number ≥ 0, got ${value}`);
  return Number(value);
}
