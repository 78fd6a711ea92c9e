import type { CrucibleGraph, CrucibleGraphEdge, CrucibleGraphNode } from '../schemas/graph.js';

/**
 * Pure helpers over a resource graph (spec §19.4): cut it to a depth around one node, and walk it as an
 * indented tree. `source → target` is parent → child; an edge between resources of different kinds (a
 * sample and a dataset) is an association whose direction the server does not define, so walks follow it
 * both ways, and it is shown as stored.
 */

/**
 * The part of `graph` within `depth` edges of `root`, direction ignored: the nodes at most `depth` steps away
 * and every edge between two of them, in the server's order. `depth` undefined keeps everything reachable and
 * everything else too (the graph unchanged). A root the graph does not hold gives an empty graph.
 */
export function cutGraph(graph: CrucibleGraph, root: string, depth?: number): CrucibleGraph {
  if (depth === undefined) return graph;
  if (!Number.isInteger(depth) || depth < 0)
    throw new RangeError(`depth must be a whole number ≥ 0, got ${depth}`);
  const around = new Map<string, string[]>();
  for (const { source, target } of graph.edges) {
    pushTo(around, source, target);
    pushTo(around, target, source);
  }
  const known = new Set(graph.nodes.map((n) => n.id));
  const distance = new Map<string, number>();
  if (known.has(root)) distance.set(root, 0);
  const queue = known.has(root) ? [root] : [];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i] as string;
    const d = distance.get(at) as number;
    if (d >= depth) continue;
    for (const next of around.get(at) ?? []) {
      if (distance.has(next) || !known.has(next)) continue;
      distance.set(next, d + 1);
      queue.push(next);
    }
  }
  return {
    ...graph,
    nodes: graph.nodes.filter((n) => distance.has(n.id)),
    edges: graph.edges.filter((e) => distance.has(e.source) && distance.has(e.target)),
  };
}

/** One line of a tree walk. */
export interface TreeLine {
  node: CrucibleGraphNode;
  /** 0 for the tops of the walk. */
  level: number;
  /** Whether the node was shown above already (its subtree is not repeated). */
  repeat: boolean;
  /**
   * How the node hangs from the line above it: `child` (stored parent → child, or an association stored from
   * the line above to this one), `reverse` (an association stored from this node to the line above), `top`.
   */
  via: 'top' | 'child' | 'reverse';
  /** Whether the node is the last one under its parent line (for drawing). */
  last: boolean;
  /** The prefix drawn before the node: `├── `, `│   └── `, … (empty for the tops). */
  prefix: string;
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const isAssociation = (a: CrucibleGraphNode | undefined, b: CrucibleGraphNode | undefined) =>
  a?.type !== undefined && b?.type !== undefined && a.type !== b.type;

/**
 * The graph as an indented tree. The walk starts at the tops (nodes that no stored parent → child edge points
 * to), `root`'s first, then the nodes nothing reached (cycles). From a node it goes to the targets of its edges
 * and, for associations only, to the sources too; never back along the edge it came by. A node met again is a
 * `repeat` line and is not walked twice, so cycles and shared children end.
 */
export function treeLines(graph: CrucibleGraph, root?: string): TreeLine[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const out = new Map<string, CrucibleGraphEdge[]>();
  const into = new Map<string, CrucibleGraphEdge[]>();
  for (const e of graph.edges) {
    if (!byId.has(e.source) || !byId.has(e.target)) continue;
    pushTo(out, e.source, e);
    pushTo(into, e.target, e);
  }
  const hasParent = (id: string) =>
    (into.get(id) ?? []).some((e) => !isAssociation(byId.get(e.source), byId.get(e.target)));
  // Tops: the root's own tops first (walking up its parents), then the other tops in the server's order.
  const tops: string[] = [];
  if (root !== undefined && byId.has(root)) {
    const seen = new Set<string>();
    const up = [root];
    for (let i = 0; i < up.length; i++) {
      const at = up[i] as string;
      if (seen.has(at)) continue;
      seen.add(at);
      const parents = (into.get(at) ?? [])
        .filter((e) => !isAssociation(byId.get(e.source), byId.get(e.target)))
        .map((e) => e.source);
      if (parents.length === 0) tops.push(at);
      up.push(...parents);
    }
  }
  for (const n of graph.nodes) if (!hasParent(n.id) && !tops.includes(n.id)) tops.push(n.id);

  const lines: TreeLine[] = [];
  const shown = new Set<string>();
  type Step = { id: string; edge: CrucibleGraphEdge | undefined; via: TreeLine['via'] };
  const stepsFrom = (id: string, came: CrucibleGraphEdge | undefined): Step[] => {
    const steps: Step[] = [];
    for (const e of out.get(id) ?? []) if (e !== came) steps.push({ id: e.target, edge: e, via: 'child' });
    for (const e of into.get(id) ?? [])
      if (e !== came && isAssociation(byId.get(e.source), byId.get(e.target)))
        steps.push({ id: e.source, edge: e, via: 'reverse' });
    return steps;
  };
  // An explicit stack, not recursion: a chain of thousands of datasets must not overflow the call stack.
  type Frame = { step: Step; level: number; indent: string; last: boolean };
  const walk = (top: string) => {
    const stack: Frame[] = [
      { step: { id: top, edge: undefined, via: 'top' }, level: 0, indent: '', last: true },
    ];
    while (stack.length > 0) {
      const { step, level, indent, last } = stack.pop() as Frame;
      const node = byId.get(step.id) as CrucibleGraphNode;
      const repeat = shown.has(step.id);
      lines.push({
        node,
        level,
        repeat,
        via: step.via,
        last,
        prefix: level === 0 ? '' : `${indent}${last ? '└── ' : '├── '}`,
      });
      if (repeat) continue;
      shown.add(step.id);
      const next = stepsFrom(step.id, step.edge);
      const childIndent = level === 0 ? '' : `${indent}${last ? '    ' : '│   '}`;
      for (let i = next.length - 1; i >= 0; i--)
        stack.push({
          step: next[i] as Step,
          level: level + 1,
          indent: childIndent,
          last: i === next.length - 1,
        });
    }
  };
  for (const id of tops) if (!shown.has(id)) walk(id);
  // Whatever no top reached lies on a cycle of parent → child edges.
  for (const n of graph.nodes) if (!shown.has(n.id)) walk(n.id);
  return lines;
}

export interface RenderTreeOptions {
  /** The text of a node (default: its name, else its id, then its type and id in brackets). */
  label?: (node: CrucibleGraphNode) => string;
  /** The node to mark and start from. */
  root?: string;
}

/** The default label: `name (type id)`. */
export function nodeLabel(node: CrucibleGraphNode): string {
  const kind = node.type ?? 'resource';
  return node.name !== undefined && node.name !== ''
    ? `${node.name} (${kind} ${node.id})`
    : `${kind} ${node.id}`;
}

/**
 * The tree as text, one node a line: `├── ` / `└── ` drawing, `← ` before a node hanging by an association
 * stored towards the line above, `(shown above)` after a repeated node, `*` after the root.
 */
export function renderTree(graph: CrucibleGraph, options: RenderTreeOptions = {}): string {
  const label = options.label ?? nodeLabel;
  return treeLines(graph, options.root)
    .map(
      (l) =>
        `${l.prefix}${l.via === 'reverse' ? '← ' : ''}${label(l.node)}${l.node.id === options.root ? ' *' : ''}${l.repeat ? ' (shown above)' : ''}\n`,
    )
    .join('');
}
