import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { str } from './common.js';

/** An id in a node-link graph: MFIDs are strings; a number (networkx allows any hashable) is kept as its text. */
const graphId = z.union([z.string(), z.number()]).transform((v) => String(v));

/** A node of a resource graph (spec §19.4): `name` (older answers: `sample_name` / `dataset_name`). */
const graphNodeWire = z.looseObject({
  id: graphId,
  name: z.string().nullable().optional(),
  sample_name: str,
  dataset_name: str,
  entity_type: str,
  project_id: str,
});

export interface CrucibleGraphNode {
  id: string;
  /** The resource's name, or `undefined` when the server gave none. */
  name: string | undefined;
  /** `dataset`, `sample`, … as the server says (`undefined` when it does not). */
  type: string | undefined;
  projectId: string | undefined;
  /** The node as the server sent it. */
  raw: Record<string, unknown>;
}

/** An edge, `source → target` (parent → child; sample–dataset associations as the server stores them). */
export interface CrucibleGraphEdge {
  source: string;
  target: string;
}

/** A resource graph, normalised from networkx's node-link format (`edges`, or `links` in older answers). */
export interface CrucibleGraph {
  nodes: CrucibleGraphNode[];
  edges: CrucibleGraphEdge[];
  directed: boolean;
  multigraph: boolean;
}

const edgeWire = z.looseObject({ source: graphId, target: graphId });

/** `GET /entity_graph_cte/{id}` and `GET /project_graph/{pid}`: tolerant to extra keys, `links` or `edges`. */
export const graphSchema = z
  .looseObject({
    nodes: z.array(graphNodeWire),
    edges: z.array(edgeWire).nullable().optional(),
    links: z.array(edgeWire).nullable().optional(),
    directed: z.boolean().nullable().optional(),
    multigraph: z.boolean().nullable().optional(),
  })
  .transform(
    (g): CrucibleGraph => ({
      nodes: g.nodes.map((n) => {
        const name = n.name ?? n.sample_name ?? n.dataset_name ?? undefined;
        return {
          id: n.id,
          name: name === null ? undefined : name,
          type: n.entity_type ?? undefined,
          projectId: n.project_id ?? undefined,
          raw: n as Record<string, unknown>,
        };
      }),
      edges: (g.edges ?? g.links ?? []).map((e) => ({ source: e.source, target: e.target })),
      directed: g.directed ?? true,
      multigraph: g.multigraph ?? false,
    }),
  );

/** A request to join a project's access group (spec §15.4 JoinRequest). */
export const joinRequestSchema = apiRecord(
  z.looseObject({
    id: z.union([z.number(), z.string()]),
    group_name: str,
    requester_id: str,
    reason: str,
    status: z.string(),
    request_time: str,
    review_time: str,
    reviewer_id: str,
    reviewer_notes: str,
  }),
);
export type CrucibleJoinRequest = z.output<typeof joinRequestSchema>;
