import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { HttpResponse, http, type RequestHandler } from 'msw';
import { createRandom } from '../random.js';
import { type ArchiveFile, text, writeArchiveZip, writeTarGz } from './archive-writers.js';

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
  /** What the next builds of a target end in (default success). */
  setTargetOutcome(title: string, tas: string, outcome: BuildOutcome): void;
  /** Deletes the built archives: fetching one then fails with 500, as on the real server. */
  expireArchives(): void;
  /** A new upload version of a target, now. */
  addUpload(title: string, tas: string): void;
  /** The bytes of a built archive (by its `file_url`), for byte-for-byte comparisons. */
  archiveBytes(fileUrl: string): Uint8Array | undefined;
  reset(): void;
}

const ANONYMOUS = { username: '', userId: 1, tas: [] as string[] };

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

const PROGRESS = [
  'Start processing',
  'Creating tarball contents...',
  'Adding PDBs...',
  'Adding SDFs...',
  'Adding metadata.csv...',
  'Adding YAMLs...',
  'Compressing tarball...',
];

/** The request body's boolean fields and their JSON defaults (spec §4.4). */
const FLAGS: ReadonlyArray<readonly [string, boolean]> = [
  ['all_aligned_structures', false],
  ['apo_file', false],
  ['bound_file', false],
  ['apo_solv_file', false],
  ['apo_desolv_file', false],
  ['ligand_pdb', false],
  ['ligand_sdf', false],
  ['ligand_smiles', false],
  ['sdf_info', false],
  ['smiles_info', false],
  ['event_file', false],
  ['sigmaa_file', false],
  ['diff_file', false],
  ['pdb_info', false],
  ['cif_info', false],
  ['mtz_info', false],
  ['map_info', false],
  ['single_sdf_file', false],
  ['metadata_info', false],
  ['trans_matrix_info', false],
  ['compound_sets', true],
  ['soakdb_files', true],
  ['yaml_files', true],
  ['extra_files', true],
  ['pymol_scripts', true],
  ['readme', true],
  ['static_link', false],
  ['use_zip', false],
  ['include_virtual_observations', false],
];
const ALIGNED = [
  'apo_file',
  'bound_file',
  'apo_solv_file',
  'apo_desolv_file',
  'ligand_pdb',
  'ligand_sdf',
  'ligand_smiles',
  'sdf_info',
  'smiles_info',
];
const TRUE_WORDS = new Set(['true', 't', 'y', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'f', 'n', 'no', 'off', '0']);

interface Build {
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

function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const body = text(JSON.stringify(value));
  return new HttpResponse(body, {
    status,
    headers: { 'content-type': 'application/json', 'content-length': String(body.byteLength), ...headers },
  });
}

function html(status: number, body: string): Response {
  const bytes = text(body);
  return new HttpResponse(bytes, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'content-length': String(bytes.byteLength) },
  });
}

function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

/** Each target has one compound set, with this id. */
function compoundSetId(target: FragalysisSimTarget): number {
  return 100 + target.id;
}

export function createFragalysisSimulator(options: FragalysisSimulatorOptions = {}): FragalysisSimulator {
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
  let builds = new Map<string, Build>();
  let expired = false;
  let csrf = token();
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

  const whoIs = (request: Request) => {
    const sid = parseCookies(request.headers.get('cookie')).get('sessionid');
    if (sid) stats.authenticatedRequests += 1;
    const user = users.find((u) => u.token === sid);
    return { user: user ?? ANONYMOUS, authenticated: user !== undefined, sid };
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

  function readBool(
    name: string,
    value: unknown,
    fallback: boolean,
    form: boolean,
  ): boolean | { error: string } {
    if (value === undefined) return form ? false : fallback;
    // A JSON null is not a boolean for DRF (the field is not nullable).
    if (value === null) return form ? false : { error: name };
    if (typeof value === 'boolean') return value;
    if (typeof value === 'number' && (value === 0 || value === 1)) return value === 1;
    if (typeof value === 'string') {
      const lower = value.toLowerCase();
      if (TRUE_WORDS.has(lower)) return true;
      if (FALSE_WORDS.has(lower)) return false;
    }
    return { error: name };
  }

  function archiveFiles(build: Build): ArchiveFile[] {
    const t = build.target;
    const f = build.flags;
    const aligned = (flag: string) => f.all_aligned_structures === true || f[flag] === true;
    const files: ArchiveFile[] = [];
    const errors: string[] = ['Param,Code,File not found when assembling download'];
    const add = (path: string, content: string | Uint8Array) =>
      files.push({ path, data: typeof content === 'string' ? text(content) : content });
    const missing = (param: string, code: string, path: string) => {
      add(`${path}_FILE_NOT_IN_UPLOAD`, '');
      errors.push(`${param},${code},${path}`);
    };
    const selected = t.observations.filter((o) => build.codes.length === 0 || build.codes.includes(o.code));
    const map = (o: FragalysisSimObservation, kind: string) => {
      const r = createRandom(seed * 1000 + o.id * 7 + kind.length);
      return Uint8Array.from({ length: 4096 }, () => r.int(0, 255));
    };
    for (const o of selected) {
      const dir = `aligned_files/${o.code}`;
      const pdb = `HEADER    ${o.code}\nATOM      1  CA  GLY A 300      10.000  10.000  10.000  1.00 20.00           C\nEND\n`;
      if (aligned('bound_file')) add(`${dir}/${o.code}.pdb`, pdb);
      if (aligned('apo_file')) add(`${dir}/${o.code}_apo.pdb`, pdb);
      if (aligned('apo_solv_file')) add(`${dir}/${o.code}_apo-solv.pdb`, pdb);
      if (aligned('apo_desolv_file')) add(`${dir}/${o.code}_apo-desolv.pdb`, pdb);
      if (aligned('ligand_pdb')) add(`${dir}/${o.code}_ligand.pdb`, pdb);
      if (aligned('ligand_sdf'))
        add(
          `${dir}/${o.code}_ligand.sdf`,
          `${o.code}\n  sim\n\n  0  0  0  0  0  0            999 V2000\nM  END\n$$$$\n`,
        );
      if (aligned('ligand_smiles')) add(`${dir}/${o.code}_ligand.smi`, `${o.smiles}\n`);
      if (aligned('sdf_info')) add(`${dir}/${o.code}.sdf`, `${o.code}\n  sim\n\nM  END\n$$$$\n`);
      if (f.event_file) {
        if (o.hasEventMap) add(`${dir}/${o.code}_event.ccp4`, map(o, 'event'));
        else missing('event_file', o.code, `${dir}/event_file`);
      }
      if (f.sigmaa_file) add(`${dir}/${o.code}_sigmaa.ccp4`, map(o, 'sigmaa'));
      if (f.diff_file) add(`${dir}/${o.code}_diff.ccp4`, map(o, 'diff'));
    }
    for (const xtal of [...new Set(selected.map((o) => o.xtal))]) {
      const dir = `crystallographic_files/${xtal}`;
      if (f.pdb_info) add(`${dir}/${xtal}.pdb`, `HEADER    ${xtal}\nEND\n`);
      if (f.cif_info) add(`${dir}/${xtal}.cif`, `data_${xtal}\n_cell.length_a 112.1\n`);
      if (f.mtz_info) add(`${dir}/${xtal}.mtz`, map(selected[0] as FragalysisSimObservation, `mtz${xtal}`));
      if (f.map_info)
        add(`${dir}/${xtal}_2fofc.map`, map(selected[0] as FragalysisSimObservation, `map${xtal}`));
    }
    if (f.single_sdf_file)
      add(`${t.title}_combined.sdf`, selected.map((o) => `${o.code}\n  sim\n\nM  END\n$$$$\n`).join(''));
    if (f.smiles_info || f.all_aligned_structures)
      add('smiles.smi', [...new Set(selected.map((o) => o.smiles))].map((s) => `${s},`).join(''));
    if (f.metadata_info) {
      const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
      const head = [
        'Code',
        'Long code',
        'Experiment code',
        'Compound code',
        'Smiles',
        'Centroid res',
        'Downloaded',
        'ConformerSites upload name',
        'CanonSites upload name',
        'CrystalformSites upload name',
        'Quatassemblies upload name',
        'Crystalforms upload name',
        'ConformerSites short tag',
        'CanonSites short tag',
        'CrystalformSites short tag',
        'Quatassemblies short tag',
        'Crystalforms short tag',
        'ConformerSites alias',
        'CanonSites alias',
        'CrystalformSites alias',
        'Quatassemblies alias',
        'Crystalforms alias',
        'Pose',
        '[Other] hit',
        'Main status',
        'GOOD count',
        'MEDIOCRE count',
        'BAD count',
        'RefinementResolution',
      ];
      const rows = t.observations.map((o, i) =>
        [
          quote(o.code),
          quote(o.longcode),
          quote(o.xtal),
          quote(o.compoundCode),
          quote(o.smiles),
          quote(`GLY_${300 + i}_A`),
          quote(selected.includes(o) ? 'True' : 'False'),
          quote('site_1'),
          quote('canon_1'),
          quote('xf_1'),
          quote('A'),
          quote('xtalform_1'),
          quote('A1'),
          quote('C1'),
          quote('X1'),
          quote('A'),
          quote('F1'),
          quote(''),
          quote(''),
          quote(''),
          quote(''),
          quote(''),
          quote(`P${i + 1}`),
          quote(i % 2 === 0 ? 'True' : 'False'),
          quote('Released'),
          String(i % 3),
          String((i + 1) % 2),
          '0',
          (1.5 + i / 10).toFixed(2),
        ].join(','),
      );
      add('metadata.csv', `${head.map(quote).join(',')}\n${rows.join('\n')}\n`);
    }
    if (f.trans_matrix_info) {
      for (const name of [
        'neighbourhood_transforms.yaml',
        'conformer_site_transforms.yaml',
        'reference_structure_transforms.yaml',
      ]) {
        add(name, `# ${name}\nA0001a: [[1,0,0,0],[0,1,0,0],[0,0,1,0]]\n`);
      }
    }
    if (f.extra_files) {
      add('extra_files_1/notes.txt', `Uploaded notes for ${t.title}\n`);
      if (f.soakdb_files) add('extra_files_1/soakdb_export.csv', 'CrystalName,CompoundSMILES\n');
    }
    if (f.yaml_files) add('yaml_files/upload_1/config.yaml', `target_name: ${t.title}\n`);
    if (f.pymol_scripts) add('scripts/pymol/load_all.py', '# PyMOL helper\n');
    if (f.compound_sets) add(`virtual_hits/${t.title}_set1.sdf`, 'virtual\n  sim\n\nM  END\n$$$$\n');
    if (f.readme) {
      add(
        'README.md',
        `# Fragalysis download\n\nRequest:\n\n${JSON.stringify(build.body)}\n\n## Files included\n\n${files.map((x) => `- /code/media/tmp/${x.path}`).join('\n')}\n`,
      );
    }
    add('errors.csv', `${errors.join('\n')}\n`);
    return files;
  }

  function ensureBytes(build: Build): void {
    if (build.bytes || build.diskFile) return;
    const disk = options.archiveFiles?.[`${build.target.title}|${build.target.tas}`];
    if (disk) {
      build.diskFile = disk;
      return;
    }
    const files = archiveFiles(build);
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

  async function readBody(
    request: Request,
  ): Promise<{ body: Record<string, unknown>; form: boolean } | Response> {
    const type = request.headers.get('content-type') ?? '';
    const raw = await request.text();
    if (type.includes('application/json')) {
      try {
        const value = JSON.parse(raw || '{}');
        if (!value || typeof value !== 'object' || Array.isArray(value))
          return json({ non_field_errors: ['Invalid data.'] }, 400);
        return { body: value as Record<string, unknown>, form: false };
      } catch {
        return json({ detail: 'JSON parse error' }, 400);
      }
    }
    return { body: Object.fromEntries(new URLSearchParams(raw)), form: true };
  }

  function csrfFailure(request: Request): Response | undefined {
    const cookie = parseCookies(request.headers.get('cookie')).get('csrftoken');
    if (!cookie) return json({ detail: 'CSRF Failed: CSRF cookie not set.' }, 403);
    const header = request.headers.get('x-csrftoken');
    if (!header) return json({ detail: 'CSRF Failed: CSRF token missing.' }, 403);
    if (header !== cookie || cookie !== csrf)
      return json({ detail: 'CSRF Failed: CSRF token incorrect.' }, 403);
    const origin = new URL(request.url).origin;
    for (const h of ['origin', 'referer']) {
      const value = request.headers.get(h);
      if (value && !value.startsWith(origin)) {
        return json(
          {
            detail: `CSRF Failed: ${h === 'origin' ? 'Origin checking failed' : 'Referer checking failed'} - ${value} does not match any trusted origins.`,
          },
          403,
        );
      }
    }
    return undefined;
  }

  async function postDownload(
    request: Request,
    user: { username: string; tas: readonly string[] },
  ): Promise<Response> {
    stats.postDownloads += 1;
    const parsed = await readBody(request);
    if (parsed instanceof Response) return parsed;
    const { body, form } = parsed;
    const flags: Record<string, boolean> = {};
    const errors: Record<string, string[]> = {};
    for (const [name, fallback] of FLAGS) {
      const value = readBool(name, body[name], fallback, form);
      if (typeof value === 'object')
        errors[name] = [body[name] === null ? 'This field may not be null.' : 'Must be a valid boolean.'];
      else flags[name] = value;
    }
    const proteins = body.proteins === undefined || body.proteins === null ? '' : String(body.proteins);
    if (proteins.length > 5000) errors.proteins = ['Ensure this field has no more than 5000 characters.'];
    for (const field of ['target_name', 'target_access_string', 'file_url']) {
      const v = body[field];
      if (v !== undefined && v !== null && String(v).length > 200)
        errors[field] = ['Ensure this field has no more than 200 characters.'];
    }
    if (Object.keys(errors).length > 0) return json(errors, 400);
    if (flags.all_aligned_structures) for (const a of ALIGNED) flags[a] = true;
    const fileUrl = body.file_url ? String(body.file_url) : '';
    if (fileUrl) {
      const found = findBuild(fileUrl);
      if (!found?.isStatic)
        return json({ message: 'file_url should only be provided for static files' }, 400);
      stats.immediateAnswers += 1;
      return json({ file_url: found.fileUrl });
    }
    const tas =
      body.target_access_string === undefined || body.target_access_string === null
        ? 'None'
        : String(body.target_access_string);
    const project = projects.find((p) => p.tas === tas);
    if (!project) return json({ message: `Project "${tas}" does not exist` }, 404);
    if (!visible(tas, user))
      return json({ message: `User "${user.username || '|anon|'}" is not a member of ${tas}` }, 404);
    const name = String(body.target_name ?? '');
    const target = targets.find((t) => t.title === name && t.tas === tas);
    if (!target) return json({ message: `Target "${name}" does not exist under project ${tas}` }, 404);
    const requested = proteins
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    const codes = requested.filter((c) => target.observations.some((o) => o.code === c));
    if (requested.length > 0 && codes.length === 0) {
      return json(
        {
          message: `Please enter list of valid protein codes for target: ${target.title}, proteins: [${requested.map((c) => `'${c}'`).join(', ')}]`,
        },
        404,
      );
    }
    const matchFlags = Object.entries(flags)
      .filter(([k]) => k !== 'static_link' && k !== 'use_zip')
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const key = `${target.id}|${[...codes].sort().join(',')}|${matchFlags}`;
    const format: 'tar.gz' | 'zip' = options.legacyImmediate || flags.use_zip ? 'zip' : 'tar.gz';
    for (const b of builds.values()) {
      if (b.key !== key || expired) continue;
      const p = phase(b);
      if (p === 'success') {
        stats.immediateAnswers += 1;
        return json({ file_url: b.fileUrl });
      }
      if (p === 'running') return json({ task_status_url: `/viewer/task_status/${b.uuid}/` }, 202);
    }
    if (!options.legacyImmediate && inFlight() >= maxBuilds) {
      return json(
        { message: 'Fragalysis is serving too many download requests. Please try again later.' },
        429,
      );
    }
    const id = uuid();
    const build: Build = {
      uuid: id,
      key,
      target,
      body,
      codes,
      flags,
      startedAt: now(),
      outcome: outcomes.get(`${target.title}|${target.tas}`) ?? 'success',
      format,
      isStatic: flags.static_link === true,
      fileUrl: `/code/media/downloads/${id}/${target.title}.${format}`,
    };
    builds.set(id, build);
    stats.buildsStarted += 1;
    if (options.legacyImmediate) {
      build.startedAt = now() - buildMs;
      build.outcome = 'success';
      ensureBytes(build);
      return json({ file_url: build.fileUrl });
    }
    return json({ task_status_url: `/viewer/task_status/${id}/` }, 202);
  }

  function findBuild(fileUrl: string): Build | undefined {
    const parts = fileUrl.split('/').filter(Boolean);
    const [dir, file] = parts.slice(-2);
    const build = dir ? builds.get(dir) : undefined;
    if (!build || !file || build.fileUrl.split('/').pop() !== file || phase(build) !== 'success')
      return undefined;
    return build;
  }

  function taskStatus(
    id: string,
    user: { username: string; tas: readonly string[] },
    authenticated: boolean,
  ): Response {
    const build = builds.get(id);
    if (!build) return json({ started: false, finished: false, status: 'UNKNOWN', messages: [] });
    const p = phase(build);
    if (p === 'lost') {
      if (options.lostAfterMs !== undefined && now() - build.startedAt >= options.lostAfterMs) {
        return json({
          started: true,
          finished: true,
          status: 'FAILED',
          messages: ['The download task was lost (no worker result - it may never have run)'],
        });
      }
      return json({ started: false, finished: false, status: 'UNKNOWN', messages: [] });
    }
    const project = projects.find((x) => x.tas === build.target.tas);
    if (project && !project.openToPublic && !user.tas.includes(project.tas)) {
      return authenticated
        ? json({ error: `You are not a member of the proposal ${project.tas}` }, 403)
        : json({ error: 'Only authenticated users can check the task status' }, 403);
    }
    if (p === 'running') {
      const step = Math.min(
        PROGRESS.length - 1,
        Math.floor(((now() - build.startedAt) / buildMs) * PROGRESS.length),
      );
      return json({ started: true, finished: false, status: 'RUNNING', messages: PROGRESS[step] });
    }
    if (p === 'failure') {
      return json({
        started: true,
        finished: true,
        status: 'FAILED',
        messages: ['Creating tarball failed: No space left on device'],
      });
    }
    ensureBytes(build);
    return json({ started: true, finished: true, status: 'SUCCESS', messages: build.fileUrl });
  }

  function fetchArchive(request: Request): Response {
    const fileUrl = new URL(request.url).searchParams.get('file_url');
    if (!fileUrl) return json({ message: 'Please provide file_url parameter from post response' }, 404);
    const build = findBuild(fileUrl);
    if (!build) return json({ message: 'file_url is not found' }, 404);
    if (expired) return html(500, '<h1>Server Error (500)</h1>');
    stats.archiveFetches += 1;
    ensureBytes(build);
    const name = `${build.target.title}.${build.format}`;
    const headers = {
      'content-type': 'application/zip',
      'content-disposition': `attachment; filename="${name}"`,
    };
    if (build.diskFile) {
      const size = statSync(build.diskFile).size;
      const body =
        request.method === 'HEAD'
          ? null
          : (Readable.toWeb(
              createReadStream(build.diskFile, { highWaterMark: 1 << 20 }),
            ) as ReadableStream<Uint8Array>);
      return new HttpResponse(body, { status: 200, headers: { ...headers, 'content-length': String(size) } });
    }
    const bytes = build.bytes as Uint8Array;
    return new HttpResponse(request.method === 'HEAD' ? null : bytes, {
      status: 200,
      headers: { ...headers, 'content-length': String(bytes.byteLength) },
    });
  }

  async function route(request: Request): Promise<Response> {
    stats.requests += 1;
    const url = new URL(request.url);
    const path = url.pathname;
    const method = request.method.toUpperCase();
    const { user, authenticated, sid } = whoIs(request);

    if (path.startsWith('/media/target_loader_data/')) {
      const body = text(`tarball ${path}\n`);
      return new HttpResponse(body, {
        headers: {
          'content-type': 'application/x-pilot',
          'content-disposition': `attachment;filename=${path}`,
          'content-length': String(body.byteLength),
        },
      });
    }
    if (!path.endsWith('/')) {
      // Django's APPEND_SLASH: a 301 to the same path with the slash, query kept.
      return new HttpResponse(null, { status: 301, headers: { location: `${path}/${url.search}` } });
    }
    if (sid && stale.has(sid) && method === 'GET') {
      if (request.headers.get('x-requested-with') === 'XMLHttpRequest') {
        return json(
          {
            error: 'session expired',
            refresh_url: 'https://keycloak.example.org/auth/realms/xchem/protocol/openid-connect/auth',
          },
          403,
        );
      }
      return new HttpResponse(null, {
        status: 302,
        headers: {
          location:
            'https://keycloak.example.org/auth/realms/xchem/protocol/openid-connect/auth?client_id=fragalysis',
        },
      });
    }
    if (method !== 'GET' && method !== 'HEAD' && authenticated) {
      const failure = csrfFailure(request);
      if (failure) return failure;
    }
    if (path === '/viewer/react/landing/' && method === 'GET') {
      stats.csrfBootstraps += 1;
      const page = text('<!doctype html><html><body><div id="root"></div></body></html>');
      return new HttpResponse(page, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-length': String(page.byteLength),
          'set-cookie': `csrftoken=${csrf}; Path=/; SameSite=Lax`,
        },
      });
    }
    if (path === '/api/user/') {
      if (method !== 'GET') return json({ detail: `Method "${method}" not allowed.` }, 405);
      const authenticator = {
        kind: 'ISPYB',
        name: 'ispyb',
        version: '1.4.4',
        location: 'http://ispyb.local',
      };
      return json({
        user: authenticated ? user.username : '',
        user_id: user.userId,
        // The docs' (older) key for the same block.
        ...(options.oldServer ? { version: authenticator } : { authenticator }),
        ping: 'OK',
        target_access: [...user.tas],
      });
    }
    if (path === '/api/token/' && method === 'GET') {
      return authenticated
        ? json({ sessionid: sid })
        : json({ error: 'You need to be logged in to get a token' }, 403);
    }
    if (path === '/api/projects/' && method === 'GET') {
      return paginated(
        request,
        projects
          .filter((p) => visible(p.tas, user))
          .map((p) => ({
            id: p.id,
            target_access_string: p.tas,
            alias: null,
            init_date: '2024-01-01T00:00:00Z',
            authority: 'DIAMOND-ISPYB',
            open_to_public: p.openToPublic,
            user_can_use_squonk: user.tas.includes(p.tas),
          })),
      );
    }
    const targetDetail = /^\/api\/targets\/(\d+)\/$/.exec(path);
    if (targetDetail && method === 'GET') {
      const t = targets.find((x) => x.id === Number(targetDetail[1]));
      return t && visible(t.tas, user) ? json(targetJson(t)) : json({ detail: 'Not found.' }, 404);
    }
    if (path === '/api/targets/' && method === 'GET') {
      const q = url.searchParams;
      return paginated(
        request,
        targets
          .filter((t) => visible(t.tas, user))
          .filter((t) => !q.get('title') || t.title === q.get('title'))
          .filter((t) => !q.get('id') || String(t.id) === q.get('id'))
          .filter((t) => !q.get('project') || String(t.projectId) === q.get('project'))
          .map(targetJson),
      );
    }
    if (path === '/api/download_structures/') {
      if (method === 'POST') return postDownload(request, user);
      if (method === 'GET' || method === 'HEAD') return fetchArchive(request);
      return json({ detail: `Method "${method}" not allowed.` }, 405);
    }
    const task = /^\/viewer\/task_status\/([^/]+)\/$/.exec(path);
    if (task && method === 'GET') {
      if (!/^[0-9a-f-]{36}$/.test(task[1] as string)) return html(404, '<h1>Not Found</h1>');
      return taskStatus(task[1] as string, user, authenticated);
    }
    if (path === '/api/target_experiment_uploads/' && method === 'GET') {
      const rows = targets
        .filter((t) => visible(t.tas, user))
        .flatMap((t) =>
          t.uploads.map((u) => ({
            target: t.id,
            target_name: t.title,
            project: t.projectId,
            proposal_number: t.tas,
            tarball: `${url.origin}/media/target_loader_data/${t.title}_${t.tas}/upload_${u.version}.tgz`,
            commit_datetime: u.at,
            committer: 4,
            committer_name: u.committer,
            task_id: null,
            neighbourhood_transforms: null,
            conformer_site_transforms: null,
            reference_structure_transforms: null,
            upload_data_dir: `upload_${u.version}`,
            upload_version: u.version,
            data_version_major: 2,
            data_version_minor: u.version > 1 ? 2 : 0,
          })),
        );
      return paginated(request, rows);
    }
    if (path === '/api/site_observations/' && method === 'GET') {
      const id = url.searchParams.get('target');
      const list = targets
        .filter((t) => visible(t.tas, user) && (!id || String(t.id) === id))
        .flatMap((t) =>
          t.observations.map((o) => ({
            id: o.id,
            code: o.code,
            longcode: o.longcode,
            smiles: o.smiles,
            cmpd: 1000 + o.id,
            compound_code: o.compoundCode,
            experiment: o.id,
            superseded: false,
            bound_file: `${url.origin}/media/target_loader_data/${t.title}_${t.tas}/upload_1/${o.code}.pdb`,
          })),
        );
      return paginated(request, list);
    }
    if (path === '/api/compounds/' && method === 'GET') {
      const id = url.searchParams.get('target');
      const list = targets
        .filter((t) => visible(t.tas, user) && (!id || String(t.id) === id))
        .flatMap((t) =>
          t.observations.map((o) => ({
            id: 1000 + o.id,
            smiles: o.smiles,
            current_identifier: o.compoundCode,
            compound_code: o.compoundCode,
            project_id: t.projectId,
          })),
        );
      return paginated(request, list);
    }
    if (path === '/api/compound-sets/' && method === 'GET') {
      const q = url.searchParams;
      const list = targets
        .filter((t) => visible(t.tas, user))
        .filter((t) => !q.get('target') || String(t.id) === q.get('target'))
        .filter(
          (t) =>
            !q.get('project') || t.tas.toLowerCase().includes((q.get('project') as string).toLowerCase()),
        )
        .map((t) => ({
          // The model's integer primary key (spec §4.13).
          id: compoundSetId(t),
          name: `${t.title}-set1`,
          target: t.id,
          submitted_sdf: `${t.title}_set1.sdf`,
          written_sdf_filename: `${t.title}_set1_written.sdf`,
          spec_version: 1.2,
          method: 'docking',
          method_url: null,
          submitter: 4,
          upload_date: '2025-07-01',
          owner_user: 4,
        }))
        .filter(
          (s) => !q.get('name') || s.name.toLowerCase().includes((q.get('name') as string).toLowerCase()),
        );
      return paginated(request, list);
    }
    const setDownload = /^\/api\/compound-sets\/([^/]+)\/download\/$/.exec(path);
    if (setDownload && method === 'GET') {
      const t = targets.find((x) => String(compoundSetId(x)) === setDownload[1]);
      if (!t) return json({ error: `ComputedSet '${setDownload[1]}' not found` }, 404);
      if (!visible(t.tas, user)) return json({ error: 'You have no access to the Project' }, 403);
      const zip = writeArchiveZip(
        [{ path: `${t.title}_set1.sdf`, data: text('virtual\n$$$$\n') }],
        1_767_225_600,
      );
      return new HttpResponse(zip, {
        headers: { 'content-type': 'application/zip', 'content-length': String(zip.byteLength) },
      });
    }
    return html(404, `<h1>Not Found</h1><p>The requested resource was not found on this server.</p>`);
  }

  const handlers: RequestHandler[] = [http.all(/\/(api|viewer|media)\//, ({ request }) => route(request))];

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
    setTargetOutcome(title, tas, outcome) {
      outcomes.set(`${title}|${tas}`, outcome);
    },
    expireArchives() {
      expired = true;
    },
    addUpload(title, tas) {
      const t = targets.find((x) => x.title === title && x.tas === tas);
      if (!t) throw new RangeError(`no target ${title} ${tas}`);
      t.uploads.push({
        version: t.uploads.length + 1,
        at: new Date(now()).toISOString(),
        committer: 'uploader',
      });
    },
    archiveBytes(fileUrl) {
      const b = findBuild(fileUrl);
      if (!b) return undefined;
      ensureBytes(b);
      return b.bytes;
    },
    reset() {
      builds = new Map();
      expired = false;
      outcomes.clear();
      csrf = token();
      for (const k of Object.keys(stats) as Array<keyof FragalysisSimStats>) stats[k] = 0;
    },
  };
}
