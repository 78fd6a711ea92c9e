import type { RequestHandler } from 'msw';
import { composeRoutes } from '../routes.js';
import type { FragalysisArchiveQuirks } from './archive-quirks.js';
import { accessTokenOf } from './bearer.js';
import { addObservations, removeObservations, reprocessObservations } from './observation-changes.js';
import { compoundSetRoutes } from './routes/compound-sets.js';
import { csetRoutes } from './routes/csets.js';
import { downloadRoutes } from './routes/downloads.js';
import { djangoMiddleware, mediaRoutes, notFoundRoutes, requestCounter } from './routes/middleware.js';
import { observationRoutes } from './routes/observations.js';
import { targetRoutes } from './routes/targets.js';
import { uploadRoutes } from './routes/uploads.js';
import { userRoutes } from './routes/user.js';
import { expireAccessTokenOf, xcaRoutes } from './routes/xca.js';
import { createFragalysisState, FRAGALYSIS_MOUNTS, type FragalysisRoutes } from './state.js';

/**
 * A simulated Fragalysis stack (spec fragalysis.md §2–§4, §8): Django session cookies (an unknown session is
 * silently anonymous), CSRF on authenticated writes, trailing-slash redirects, DRF limit/offset pages, targets
 * identified by (title, TAS) with a duplicated title, the asynchronous archive build with its task status
 * (success, failure, a lost task), de-duplicated and cached archives, real `.tar.gz` and `.zip` archives with the
 * §4.7 layout, upload history, observations with SMILES, compound sets, and a build queue that fills up.
 */

export interface FragalysisSimulatorOptions {
  seed?: number;
  /** DRF page size when `limit` is absent or invalid (default 5000). */
  pageSize?: number;
  /** How long a build stays RUNNING (default 300 ms). */
  buildMs?: number;
  /** Builds in flight at once; one more is answered 429 (default 4). */
  maxConcurrentBuilds?: number;
  /** Old servers: the POST builds at once and answers 200 with a `.zip` `file_url`. */
  legacyImmediate?: boolean;
  /**
   * The 2024 response shapes (spec §4.3, §4.12): targets without `project_title` and `settings` (clients join
   * them with the projects), and `/api/user/` with the authenticator block under `version`.
   */
  oldServer?: boolean;
  /** `"<title>|<tas>"` → a file on disk served as that target's archive (benchmarks: a 500 MB archive). */
  archiveFiles?: Readonly<Record<string, string>>;
  /**
   * When housekeeping declares a lost build FAILED (`"The download task was lost …"`, an array message); until
   * then it reports UNKNOWN, not started (default: never, as for an unknown task id).
   */
  lostAfterMs?: number;
  /** Session tokens whose OIDC session is stale: authenticated GETs are redirected to Keycloak. */
  staleTokens?: readonly string[];
  /** How compound-set validate and upload tasks end (issue 14: csets): `success` (default), `failure`, `never` (PENDING for ever). */
  csetTasks?: 'success' | 'failure' | 'never';
  /** `"<title>|<tas>"` → the gaps of that target's archives: placeholders, errors.csv rows, silent gaps (§11.1). */
  archiveQuirks?: Readonly<Record<string, FragalysisArchiveQuirks>>;
  now?: () => number;
}

export interface FragalysisSimUser {
  username: string;
  userId: number;
  token: string;
  /** Target access strings the user is a member of. */
  tas: readonly string[];
}

export interface FragalysisSimProject {
  id: number;
  tas: string;
  openToPublic: boolean;
}

export interface FragalysisSimObservation {
  id: number;
  code: string;
  longcode: string;
  xtal: string;
  compoundCode: string;
  smiles: string;
  /** Whether this observation's event map exists in the upload (missing ones become placeholders). */
  hasEventMap: boolean;
  /** Its `version` (1 unless re-processed). */
  version?: number;
  /** The upload its files come from (`upload_<n>`; default 1). */
  upload?: number;
}

export interface FragalysisSimTarget {
  id: number;
  title: string;
  tas: string;
  projectId: number;
  observations: FragalysisSimObservation[];
  uploads: Array<{ version: number; at: string; committer: string }>;
}

export type BuildOutcome = 'success' | 'failure' | 'lost';

export interface FragalysisSimStats {
  requests: number;
  postDownloads: number;
  buildsStarted: number;
  immediateAnswers: number;
  csrfBootstraps: number;
  archiveFetches: number;
  /** Requests that carried a `sessionid` cookie. */
  authenticatedRequests: number;
}

export interface FragalysisSimulator {
  readonly handlers: RequestHandler[];
  readonly users: readonly FragalysisSimUser[];
  readonly projects: readonly FragalysisSimProject[];
  readonly targets: readonly FragalysisSimTarget[];
  readonly stats: FragalysisSimStats;
  /** The session token of a user. */
  tokenFor(username: string): string;
  /** The OIDC access token of a user, for `Authorization: Bearer …` (spec §11.2). */
  accessTokenFor(username: string): string;
  /** Expires a user's access token: requests with it are then refused (403 "Token verification failed"). */
  expireAccessToken(username: string): void;
  /** What the next builds of a target end in (default success). */
  setTargetOutcome(title: string, tas: string, outcome: BuildOutcome): void;
  /** Deletes the built archives: fetching one then fails with 500, as on the real server. */
  expireArchives(): void;
  /** A new upload version of a target, now. */
  addUpload(title: string, tas: string): void;
  /** The bytes of a built archive (by its `file_url`), for byte-for-byte comparisons. */
  archiveBytes(fileUrl: string): Uint8Array | undefined;
  /** The gaps of a target's archives built (or first fetched) from now on; undefined: none (spec §11.1). */
  setArchiveQuirks(title: string, tas: string, quirks: FragalysisArchiveQuirks | undefined): void;
  reset(): void;
  // issue 14: obsync
  /**
   * Re-processes observations in a new upload (new `id`, higher `version`, files under the new upload's folder,
   * the old row hidden): the given codes, or `count` observations spread over the target. Returns their codes.
   */
  reprocessObservations(title: string, tas: string, which: number | readonly string[]): string[];
  /** Adds `count` observations in a new upload; returns their codes. */
  addObservations(title: string, tas: string, count: number): string[];
  /** Removes observations in a new upload. */
  removeObservations(title: string, tas: string, codes: readonly string[]): void;
  /** The archive builds started since the last reset, oldest first, with the codes each asked for. */
  builds(): Array<{ title: string; tas: string; codes: string[]; flags: Record<string, boolean> }>;
}

/**
 * The route modules, in the order their handlers are tried: the request counter and the Django middleware
 * (APPEND_SLASH, stale OIDC sessions, CSRF) first, the 404 page last.
 */
const ROUTES: readonly FragalysisRoutes[] = [
  requestCounter,
  mediaRoutes,
  djangoMiddleware,
  xcaRoutes,
  userRoutes,
  targetRoutes,
  downloadRoutes,
  uploadRoutes,
  observationRoutes,
  compoundSetRoutes,
  csetRoutes,
  notFoundRoutes,
];

export function createFragalysisSimulator(options: FragalysisSimulatorOptions = {}): FragalysisSimulator {
  const sim = createFragalysisState(options);
  const handlers: RequestHandler[] = composeRoutes(sim, FRAGALYSIS_MOUNTS, ROUTES);
  const { users, projects, targets, stats } = sim;
  return {
    handlers,
    users,
    projects,
    targets,
    get stats() {
      return { ...stats };
    },
    tokenFor(username) {
      const u = users.find((x) => x.username === username);
      if (!u) throw new RangeError(`no user ${username}`);
      return u.token;
    },
    accessTokenFor(username) {
      if (!users.some((x) => x.username === username)) throw new RangeError(`no user ${username}`);
      return accessTokenOf(sim.seed, username);
    },
    expireAccessToken(username) {
      expireAccessTokenOf(sim, this.accessTokenFor(username));
    },
    setTargetOutcome(title, tas, outcome) {
      sim.outcomes.set(`${title}|${tas}`, outcome);
    },
    expireArchives() {
      sim.expired = true;
    },
    addUpload(title, tas) {
      const t = targets.find((x) => x.title === title && x.tas === tas);
      if (!t) throw new RangeError(`no target ${title} ${tas}`);
      t.uploads.push({
        version: t.uploads.length + 1,
        at: new Date(sim.now()).toISOString(),
        committer: 'uploader',
      });
    },
    archiveBytes(fileUrl) {
      const b = sim.findBuild(fileUrl);
      if (!b) return undefined;
      sim.ensureBytes(b);
      return b.bytes;
    },
    setArchiveQuirks(title, tas, quirks) {
      if (quirks) sim.archiveQuirks.set(`${title}|${tas}`, quirks);
      else sim.archiveQuirks.delete(`${title}|${tas}`);
    },
    reset() {
      sim.reset();
    },
    // issue 14: obsync
    reprocessObservations: (title, tas, which) =>
      reprocessObservations(targets, findTarget(title, tas), which, sim.now()),
    addObservations: (title, tas, count) =>
      addObservations(targets, findTarget(title, tas), count, sim.now()),
    removeObservations: (title, tas, codes) => removeObservations(findTarget(title, tas), codes, sim.now()),
    builds: () =>
      [...sim.builds.values()].map((b) => ({
        title: b.target.title,
        tas: b.target.tas,
        codes: [...b.codes],
        flags: { ...b.flags },
      })),
  };

  function findTarget(title: string, tas: string) {
    const t = targets.find((x) => x.title === title && x.tas === tas);
    if (!t) throw new RangeError(`no target ${title} ${tas}`);
    return t;
  }
}
