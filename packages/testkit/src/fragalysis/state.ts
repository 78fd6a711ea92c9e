import { HttpResponse } from 'msw';
import { text, writeArchiveZip, writeTarGz } from '../archives.js';
import { createRandom } from '../random.js';
import type { SimRoutes } from '../routes.js';
import { archiveFiles } from './archive-content.js';
import { applyArchiveQuirks, type FragalysisArchiveQuirks } from './archive-quirks.js';
import { expiredAccessTokens, readBearer } from './bearer.js';
import type {
  BuildOutcome,
  FragalysisSimObservation,
  FragalysisSimProject,
  FragalysisSimStats,
  FragalysisSimTarget,
  FragalysisSimUser,
  FragalysisSimulatorOptions,
} from './fragalysis-simulator.js';

/** Where the routes are served: `/api/…`, `/viewer/…` and `/media/…` at the root of any origin. */
export interface FragalysisMount {
  readonly prefix: string;
}

export const FRAGALYSIS_MOUNTS: readonly FragalysisMount[] = [{ prefix: '' }];

/** The paths the simulator answers (every request there is counted; unknown ones get Django's 404 page). */
export const FRAGALYSIS_PATHS = /\/(api|viewer|media)\//;

/** A route module of the Fragalysis simulator. */
export type FragalysisRoutes = SimRoutes<FragalysisSim, FragalysisMount>;

export const ANONYMOUS = { username: '', userId: 1, tas: [] as string[] };

const SMILES = [
  'CC(=O)Nc1ccc(O)cc1',
  'O=C(O)c1ccccc1O',
  'Cc1ccc(S(N)(=O)=O)cc1',
  'NC(=O)c1cccnc1',
  'O=C1CCCN1c1ccccc1',
  'COc1ccc2[nH]ccc2c1',
  'CN1CCN(c2ccc(F)cc2)CC1',
  'O=S(=O)(N)c1ccc(Cl)cc1',
  'c1ccc2c(c1)nc[nH]2',
  'CC(C)(C)OC(=O)N1CCCC1',
  'Oc1ccc(-c2ccncc2)cc1',
  'NS(=O)(=O)c1cccc(C(F)(F)F)c1',
];

export interface Build {
  uuid: string;
  key: string;
  target: FragalysisSimTarget;
  body: Record<string, unknown>;
  codes: string[];
  flags: Record<string, boolean>;
  startedAt: number;
  outcome: BuildOutcome;
  format: 'tar.gz' | 'zip';
  isStatic: boolean;
  fileUrl: string;
  bytes?: Uint8Array;
  diskFile?: string;
}

export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const body = text(JSON.stringify(value));
  return new HttpResponse(body, {
    status,
    headers: { 'content-type': 'application/json', 'content-length': String(body.byteLength), ...headers },
  });
}

export function html(status: number, body: string): Response {
  const bytes = text(body);
  return new HttpResponse(bytes, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'content-length': String(bytes.byteLength) },
  });
}

export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** Each target has one compound set, with this id. */
export function compoundSetId(target: FragalysisSimTarget): number {
  return 100 + target.id;
}

/** Who a request is: the user of its `sessionid` cookie, else anonymous (an unknown session is not an error). */
export interface Identity {
  user: { username: string; userId: number; tas: readonly string[] };
  authenticated: boolean;
  sid: string | undefined;
  /** Who an `Authorization: Bearer` header named, when the session did not (issue 14: xca). */
  bearer?: 'user' | { refused: string };
}

/** The simulated stack's data and mutable state (seeded), with the helpers the routes share. */
export interface FragalysisSim {
  readonly options: FragalysisSimulatorOptions;
  readonly seed: number;
  readonly now: () => number;
  readonly buildMs: number;
  readonly maxBuilds: number;
  /** Session tokens whose OIDC session is stale. */
  readonly stale: ReadonlySet<string>;
  readonly projects: FragalysisSimProject[];
  readonly users: FragalysisSimUser[];
  readonly targets: FragalysisSimTarget[];
  /** What the next builds of a target (`title|tas`) end in. */
  readonly outcomes: Map<string, BuildOutcome>;
  /** Archive builds by task id. */
  readonly builds: Map<string, Build>;
  /** Whether the built archives were deleted. */
  expired: boolean;
  /** The gaps of each target's archives (`title|tas`; spec §11.1). */
  readonly archiveQuirks: Map<string, FragalysisArchiveQuirks>;
  /** The CSRF token the landing page sets. */
  csrf: string;
  readonly stats: FragalysisSimStats;
  uuid(): string;
  visible(tas: string, user: { tas: readonly string[] }): boolean;
  identify(request: Request): Identity;
  /** The targets the request's user may see (members' and public projects'). */
  visibleTargets(request: Request): FragalysisSimTarget[];
  /** A DRF limit/offset page of `items`. */
  paginated(request: Request, items: unknown[]): Response;
  targetJson(t: FragalysisSimTarget): Record<string, unknown>;
  ensureBytes(build: Build): void;
  phase(build: Build): 'running' | BuildOutcome;
  inFlight(): number;
  /** The successful build a `file_url` names. */
  findBuild(fileUrl: string): Build | undefined;
  reset(): void;
}

export function createFragalysisState(options: FragalysisSimulatorOptions): FragalysisSim {
  const seed = options.seed ?? 1;
  const now = options.now ?? Date.now;
  const buildMs = options.buildMs ?? 300;
  const maxBuilds = options.maxConcurrentBuilds ?? 4;
  const defaultPage = options.pageSize ?? 5000;
  const stale = new Set(options.staleTokens ?? []);
  const rng = createRandom(seed);
  const token = () =>
    Array.from({ length: 32 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[rng.int(0, 35)]).join('');
  const uuid = () => {
    const hex = Array.from({ length: 32 }, () => '0123456789abcdef'[rng.int(0, 15)]).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  };

  const projects: FragalysisSimProject[] = [
    { id: 1, tas: 'lb18145-1', openToPublic: true },
    { id: 2, tas: 'lb32627-66', openToPublic: true },
    { id: 3, tas: 'sw30864-12', openToPublic: false },
    { id: 4, tas: 'lb00000-1', openToPublic: false },
  ];
  const users: FragalysisSimUser[] = [
    { username: 'demo', userId: 2, token: token(), tas: ['sw30864-12', 'lb00000-1', 'lb18145-1'] },
    { username: 'outsider', userId: 3, token: token(), tas: [] },
  ];
  let nextObservation = 1;
  const makeTarget = (id: number, title: string, projectId: number, count: number): FragalysisSimTarget => {
    const tas = projects.find((p) => p.id === projectId)?.tas as string;
    const observations: FragalysisSimObservation[] = [];
    for (let i = 0; i < count; i++) {
      const n = String(i + 1).padStart(4, '0');
      const chain = i % 3 === 2 ? 'b' : 'a';
      const xtal = `${title}-x${n}`;
      observations.push({
        id: nextObservation++,
        code: `A${n}${chain}`,
        longcode: `${xtal}_A_${300 + i}_1_${xtal}+A+${300 + i}+1`,
        xtal,
        compoundCode: `Z${(1000 + id * 100 + i).toString()}`,
        smiles: SMILES[(id * 5 + i) % SMILES.length] as string,
        hasEventMap: rng.chance(0.75),
      });
    }
    const uploads = Array.from({ length: 1 + (id % 3) }, (_, v) => ({
      version: v + 1,
      at: new Date(Date.UTC(2025, 5 + v, 10 + id, 12, 34, 0, 693)).toISOString().replace('Z', '173Z'),
      committer: 'uploader',
    }));
    return { id, title, tas, projectId, observations, uploads };
  };
  const targets: FragalysisSimTarget[] = [
    makeTarget(1, 'Mpro', 1, 8),
    makeTarget(2, 'A71EV2A', 2, 6),
    makeTarget(3, 'Mpro', 3, 5),
    makeTarget(4, 'NSP3', 4, 4),
  ];
  for (const [key] of Object.entries(options.archiveFiles ?? {})) {
    const [title, tas] = key.split('|');
    if (title && tas && !targets.some((t) => t.title === title && t.tas === tas)) {
      let project = projects.find((p) => p.tas === tas);
      if (!project) {
        project = { id: projects.length + 1, tas, openToPublic: false };
        projects.push(project);
        (users[0] as unknown as { tas: string[] }).tas.push(tas);
      }
      targets.push(makeTarget(targets.length + 1, title, project.id, 2));
    }
  }
  const outcomes = new Map<string, BuildOutcome>();
  const builds = new Map<string, Build>();
  const csrf = token();
  const stats: FragalysisSimStats = {
    requests: 0,
    postDownloads: 0,
    buildsStarted: 0,
    immediateAnswers: 0,
    csrfBootstraps: 0,
    archiveFetches: 0,
    authenticatedRequests: 0,
  };

  const visible = (tas: string, user: { tas: readonly string[] }) =>
    user.tas.includes(tas) || projects.some((p) => p.tas === tas && p.openToPublic);

  const identify = (request: Request): Identity => {
    const sid = parseCookies(request.headers.get('cookie')).get('sessionid');
    const user = users.find((u) => u.token === sid);
    if (user) return { user, authenticated: true, sid };
    // A valid session wins over a bearer header: DRF tries the session first (spec §11.2).
    const bearer = readBearer(request.headers.get('authorization'), users, seed, expiredAccessTokens(sim));
    if (bearer && 'user' in bearer) return { user: bearer.user, authenticated: true, sid, bearer: 'user' };
    return { user: ANONYMOUS, authenticated: false, sid, ...(bearer ? { bearer } : {}) };
  };

  function paginated(request: Request, items: unknown[]): Response {
    const url = new URL(request.url);
    const limitText = url.searchParams.get('limit');
    const limit =
      limitText && /^\d+$/.test(limitText) && Number(limitText) > 0 ? Number(limitText) : defaultPage;
    const offsetText = url.searchParams.get('offset');
    const offset = offsetText && /^\d+$/.test(offsetText) ? Number(offsetText) : 0;
    const results = items.slice(offset, offset + limit);
    const link = (o: number | undefined) => {
      if (o === undefined) return null;
      const u = new URL(url);
      u.searchParams.set('limit', String(limit));
      if (o <= 0) u.searchParams.delete('offset');
      else u.searchParams.set('offset', String(o));
      return u.toString();
    };
    return json({
      count: items.length,
      next: offset + limit < items.length ? link(offset + limit) : null,
      previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
      results,
    });
  }

  function targetJson(t: FragalysisSimTarget) {
    return {
      id: t.id,
      title: t.title,
      display_name: `${t.title}${t.tas.startsWith('sw') ? ' (SGC)' : ''}`,
      project: t.projectId,
      ...(options.oldServer ? {} : { project_title: t.tas }),
      default_squonk_project: null,
      template_protein: `/media/target_loader_data/${t.title}_${t.tas}/upload_1/reference.pdb`,
      metadata: null,
      zip_archive: `/media/targets/${t.title}`,
      upload_status: 'SUCCESS',
      short_name: null,
      long_name: null,
      organism: null,
      external_url: null,
      external_url_display_name: null,
      alias_order: null,
      ...(options.oldServer ? {} : { settings: null }),
    };
  }

  function ensureBytes(build: Build): void {
    if (build.bytes || build.diskFile) return;
    const disk = options.archiveFiles?.[`${build.target.title}|${build.target.tas}`];
    if (disk) {
      build.diskFile = disk;
      return;
    }
    const quirks = sim.archiveQuirks.get(`${build.target.title}|${build.target.tas}`);
    const files = applyArchiveQuirks(archiveFiles(build, seed), build.target, quirks);
    const mtime = Math.floor(Date.UTC(2026, 0, 1) / 1000);
    build.bytes = build.format === 'zip' ? writeArchiveZip(files, mtime) : writeTarGz(files, mtime);
  }

  function phase(build: Build): 'running' | BuildOutcome {
    if (build.outcome === 'lost') return 'lost';
    if (now() - build.startedAt < buildMs) return 'running';
    return build.outcome;
  }

  function inFlight(): number {
    let n = 0;
    for (const b of builds.values()) if (phase(b) === 'running' || phase(b) === 'lost') n += 1;
    return n;
  }

  function findBuild(fileUrl: string): Build | undefined {
    const parts = fileUrl.split('/').filter(Boolean);
    const [dir, file] = parts.slice(-2);
    const build = dir ? builds.get(dir) : undefined;
    if (!build || !file || build.fileUrl.split('/').pop() !== file || phase(build) !== 'success')
      return undefined;
    return build;
  }

  const sim: FragalysisSim = {
    options,
    seed,
    now,
    buildMs,
    maxBuilds,
    stale,
    projects,
    users,
    targets,
    outcomes,
    builds,
    expired: false,
    archiveQuirks: new Map(Object.entries(options.archiveQuirks ?? {})),
    csrf,
    stats,
    uuid,
    visible,
    identify,
    visibleTargets: (request) => {
      const { user } = identify(request);
      return targets.filter((t) => visible(t.tas, user));
    },
    paginated,
    targetJson,
    ensureBytes,
    phase,
    inFlight,
    findBuild,
    reset() {
      builds.clear();
      sim.expired = false;
      sim.archiveQuirks.clear();
      for (const [key, quirks] of Object.entries(options.archiveQuirks ?? {}))
        sim.archiveQuirks.set(key, quirks);
      outcomes.clear();
      sim.csrf = token();
      for (const k of Object.keys(stats) as Array<keyof FragalysisSimStats>) stats[k] = 0;
    },
  };
  return sim;
}
