import { HttpResponse, http } from 'msw';
import { type ArchiveEntry, asTar, TREE, tarGz, zip } from './archives.js';
/**
 * Conformance with the Fragalysis wire protocol (spec fragalysis.md), against a stack written here from the spec
 * alone — not the testkit simulator — and stricter than it where the spec allows: HTTPS with the Referer check
 * on CSRF, DRF's browsable HTML for clients that prefer HTML, `next` links naming the internal host behind the
 * proxy, an old server without `project_title`, archives served as `application/zip` whatever their format,
 * no Range support, task-status quirks (string, array and empty `messages`, 403/408/500), and so on.
 */

export const BASE = 'https://fragalysis.test';
/** What Django sees behind nginx: `next` links and absolute task URLs may name it. */
export const INTERNAL = 'http://10.20.30.40:8000';
export const KEYCLOAK = 'https://keycloak.test';
export const TOKEN = 'q8t1c0nf0rmancesessi0n1d0000000';
export const CSRF = 'csrf0conformance0token0000000000abcdefghijkl';
interface Obs {
  id: number;
  code: string;
  smiles: string | null;
}
export interface Target {
  id: number;
  title: string;
  project: number;
  observations: Obs[];
  uploads: Array<{ version: number; at: string }>;
}
export interface Logged {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
  status?: number;
}
export type Reply = { status: number; body: unknown; headers?: Record<string, string> } | 'html404';

export interface StackOptions {
  /** 2024 servers: no `project_title`, the user's authenticator block under `version`. */
  oldServer?: boolean;
  /** DRF `max_limit`: pages never hold more than this. */
  maxLimit?: number;
  /** How the POST answers a new build. */
  answer?: 'task' | 'immediate-zip';
  taskUrl?: 'relative' | 'absolute' | 'internal';
  /** The task-status replies, one per poll (the last one repeats). Default: one RUNNING, then SUCCESS. */
  polls?: (fileUrl: string) => Reply[];
  /** 429 (no Retry-After) for this many POSTs before one is taken. */
  queueFull?: number;
  /** The archive fetch sends only half the body (with the full Content-Length) this many times. */
  truncate?: number;
  /**
   * Housekeeping deletes a cached archive right after the POST hands it out: its fetch fails with 500 (the
   * record still matches), and later POSTs no longer match it.
   */
  vanishOnOffer?: boolean;
  /** The archive's members (default: a small §4.7 tree). */
  entries?: ArchiveEntry[];
  /** Stale OIDC session: authenticated GETs are redirected to Keycloak. */
  stale?: boolean;
}

const projects = [
  { id: 11, tas: 'lb18145-1', open: true },
  { id: 12, tas: 'sw30864-12', open: false },
  { id: 13, tas: 'lb32627-66', open: true },
  { id: 14, tas: 'lb99999-9', open: false },
];
export const members = ['sw30864-12', 'lb18145-1'];

function defaultTargets(): Target[] {
  const obs = (start: number, n: number, smiles: Array<string | null>) =>
    Array.from({ length: n }, (_, i) => ({
      id: start + i,
      code: `A${String(i + 1).padStart(4, '0')}a`,
      smiles: smiles[i % smiles.length] ?? null,
    }));
  return [
    {
      id: 101,
      title: 'Mpro',
      project: 11,
      observations: obs(1, 5, ['CCO', 'c1ccccc1', null, 'CCO']),
      uploads: [
        { version: 2, at: '2025-03-01T10:00:00.000001Z' },
        { version: 1, at: '2025-01-01T10:00:00.000001Z' },
      ],
    },
    {
      id: 102,
      title: 'Mpro',
      project: 12,
      observations: obs(50, 3, ['CN', 'OCC(=O)O']),
      uploads: [{ version: 1, at: '2025-02-02T08:00:00.123456Z' }],
    },
    {
      id: 103,
      title: 'A71EV2A',
      project: 13,
      observations: obs(80, 2, ['CC(C)O']),
      uploads: [
        { version: 1, at: '2025-04-01T00:00:00Z' },
        { version: 3, at: '2025-09-09T09:09:09.999999Z' },
        { version: 2, at: '2025-06-01T00:00:00Z' },
      ],
    },
    {
      id: 104,
      title: 'Secret',
      project: 14,
      observations: obs(90, 1, ['C']),
      uploads: [{ version: 1, at: '2025-05-05T00:00:00Z' }],
    },
    { id: 105, title: 'NSP3', project: 12, observations: obs(95, 2, ['N#N']), uploads: [] },
  ];
}

// --- the stack ---------------------------------------------------------------------------------------------

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  HttpResponse.json(body as Record<string, unknown>, { status, headers });
export const htmlPage = (status: number, body: string) =>
  new HttpResponse(body, { status, headers: { 'content-type': 'text/html; charset=utf-8' } });

const BOOLEAN_FIELDS: Record<string, boolean> = {
  all_aligned_structures: false,
  apo_file: false,
  bound_file: false,
  apo_solv_file: false,
  apo_desolv_file: false,
  ligand_pdb: false,
  ligand_sdf: false,
  ligand_smiles: false,
  sdf_info: false,
  smiles_info: false,
  event_file: false,
  sigmaa_file: false,
  diff_file: false,
  pdb_info: false,
  cif_info: false,
  mtz_info: false,
  map_info: false,
  single_sdf_file: false,
  metadata_info: false,
  trans_matrix_info: false,
  compound_sets: true,
  soakdb_files: true,
  yaml_files: true,
  extra_files: true,
  pymol_scripts: true,
  readme: true,
  static_link: false,
  use_zip: false,
  include_virtual_observations: false,
};

export function cookiesOf(headers: Headers): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (headers.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

function paginate(request: Request, items: unknown[], maxLimit?: number): Response {
  const url = new URL(request.url);
  const limitText = url.searchParams.get('limit');
  let limit = limitText && /^\d+$/.test(limitText) && Number(limitText) > 0 ? Number(limitText) : 5000;
  if (maxLimit !== undefined) limit = Math.min(limit, maxLimit);
  const offsetText = url.searchParams.get('offset');
  const offset = offsetText && /^\d+$/.test(offsetText) ? Number(offsetText) : 0;
  // Behind nginx, Django builds absolute links from the internal host it sees.
  const link = (o: number) => {
    const u = new URL(`${INTERNAL}${url.pathname}${url.search}`);
    u.searchParams.set('limit', String(limit));
    if (o <= 0) u.searchParams.delete('offset');
    else u.searchParams.set('offset', String(o));
    return u.href;
  };
  return json({
    count: items.length,
    next: offset + limit < items.length ? link(offset + limit) : null,
    previous: offset > 0 ? link(offset - limit) : null,
    results: items.slice(offset, offset + limit),
  });
}

export interface Build {
  uuid: string;
  key: string;
  fileUrl: string;
  polls: number;
  isStatic: boolean;
  deleted: boolean;
}

export function createStack(options: StackOptions = {}) {
  const log: Logged[] = [];
  const foreign: Logged[] = [];
  const targets = defaultTargets();
  const builds = new Map<string, Build>();
  const posts: Array<Record<string, unknown>> = [];
  let queueFull = options.queueFull ?? 0;
  let truncate = options.truncate ?? 0;
  let uuidCounter = 0;
  const state = { landing: 0 };

  const userOf = (request: Request) => {
    const sid = cookiesOf(request.headers).get('sessionid');
    return sid === TOKEN
      ? { username: 'alice', id: 7, tas: members, authenticated: true }
      : { username: '', id: 1, tas: [] as string[], authenticated: false };
  };
  const readable = (tas: string, user: { tas: readonly string[] }) =>
    user.tas.includes(tas) || projects.some((p) => p.tas === tas && p.open);
  const tasOf = (t: Target) => projects.find((p) => p.id === t.project)?.tas as string;

  const archiveOf = (fileUrl: string) => {
    const entries = options.entries ?? TREE;
    return fileUrl.endsWith('.zip') ? zip(entries) : tarGz(asTar(entries));
  };

  const polls = (fileUrl: string): Reply[] =>
    options.polls?.(fileUrl) ?? [
      { status: 200, body: { started: false, finished: false, status: 'UNKNOWN', messages: [] } },
      {
        status: 200,
        body: { started: true, finished: false, status: 'RUNNING', messages: 'Adding PDBs...' },
      },
      { status: 200, body: { started: true, finished: true, status: 'SUCCESS', messages: fileUrl } },
    ];

  function csrfFailure(request: Request): Response | undefined {
    const cookie = cookiesOf(request.headers).get('csrftoken');
    if (!cookie) return json({ detail: 'CSRF Failed: CSRF cookie not set.' }, 403);
    const header = request.headers.get('x-csrftoken');
    if (!header) return json({ detail: 'CSRF Failed: CSRF token missing.' }, 403);
    if (header !== cookie || cookie !== CSRF)
      return json({ detail: 'CSRF Failed: CSRF token incorrect.' }, 403);
    // HTTPS: Django's strict Referer check.
    const referer = request.headers.get('referer');
    if (!referer) return json({ detail: 'CSRF Failed: Referer checking failed - no Referer.' }, 403);
    if (new URL(referer).origin !== BASE) {
      return json(
        { detail: `CSRF Failed: Referer checking failed - ${referer} does not match any trusted origins.` },
        403,
      );
    }
    return undefined;
  }

  function parseBool(value: unknown, fallback: boolean, form: boolean): boolean | 'invalid' {
    if (value === undefined) return form ? false : fallback;
    if (value === true || value === 1) return true;
    if (value === false || value === 0) return false;
    if (typeof value === 'string') {
      if (['true', 'True', 'TRUE', '1', 'yes', 'on', 't', 'y'].includes(value)) return true;
      if (['false', 'False', 'FALSE', '0', 'no', 'off', 'f', 'n'].includes(value)) return false;
    }
    return 'invalid';
  }

  async function postDownload(request: Request, user: ReturnType<typeof userOf>): Promise<Response> {
    const type = request.headers.get('content-type') ?? '';
    const text = await request.text();
    const form = !type.startsWith('application/json');
    const body: Record<string, unknown> = form
      ? Object.fromEntries(new URLSearchParams(text))
      : (JSON.parse(text) as Record<string, unknown>);
    posts.push(body);
    const errors: Record<string, string[]> = {};
    const flags: Record<string, boolean> = {};
    for (const [name, fallback] of Object.entries(BOOLEAN_FIELDS)) {
      const v = parseBool(body[name], fallback, form);
      if (v === 'invalid') errors[name] = ['Must be a valid boolean.'];
      else flags[name] = v;
    }
    const proteins = typeof body.proteins === 'string' ? body.proteins : '';
    if (proteins.length > 5000) errors.proteins = ['Ensure this field has no more than 5000 characters.'];
    if (Object.keys(errors).length) return json(errors, 400);
    if (typeof body.file_url === 'string' && body.file_url !== '') {
      const [dir, file] = body.file_url.split('/').slice(-2);
      const found = dir ? builds.get(dir) : undefined;
      if (!found?.isStatic || found.fileUrl.split('/').pop() !== file) {
        return json({ message: 'file_url should only be provided for static files' }, 400);
      }
      return json({ file_url: found.fileUrl });
    }
    const tas = typeof body.target_access_string === 'string' ? body.target_access_string : 'None';
    if (!projects.some((p) => p.tas === tas))
      return json({ message: `Project "${tas}" does not exist` }, 404);
    if (!readable(tas, user)) {
      return json({ message: `User "${user.username || '|anon|'}" is not a member of ${tas}` }, 404);
    }
    const target = targets.find((t) => t.title === body.target_name && tasOf(t) === tas);
    if (!target) {
      return json(
        { message: `Target "${String(body.target_name)}" does not exist under project ${tas}` },
        404,
      );
    }
    const codes = proteins
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c && target.observations.some((o) => o.code === c));
    if (proteins.trim() && codes.length === 0) {
      return json(
        {
          message: `Please enter list of valid protein codes for target: ${target.title}, proteins: [${proteins}]`,
        },
        404,
      );
    }
    // static_link and use_zip are not part of the match.
    const key = JSON.stringify([
      target.id,
      codes.sort(),
      Object.entries(flags).filter(([k]) => k !== 'static_link' && k !== 'use_zip'),
    ]);
    for (const b of builds.values()) {
      if (b.key !== key || b.deleted) continue;
      if (b.polls < polls(b.fileUrl).length)
        return json({ task_status_url: `/viewer/task_status/${b.uuid}/` }, 202);
      if (options.vanishOnOffer) b.deleted = true;
      return json({ file_url: b.fileUrl });
    }
    if (queueFull > 0) {
      queueFull -= 1;
      return json(
        { message: 'Fragalysis is serving too many download requests. Please try again later.' },
        429,
      );
    }
    uuidCounter += 1;
    const uuid = `0b6c3a52-5a61-4f0e-9a52-${String(uuidCounter).padStart(12, '0')}`;
    const ext = options.answer === 'immediate-zip' || flags.use_zip ? 'zip' : 'tar.gz';
    const build: Build = {
      uuid,
      key,
      fileUrl: `/code/media/downloads/${uuid}/${target.title}.${ext}`,
      polls: 0,
      isStatic: flags.static_link === true,
      deleted: false,
    };
    builds.set(uuid, build);
    if (options.answer === 'immediate-zip') {
      build.polls = Number.POSITIVE_INFINITY;
      return json({ file_url: build.fileUrl });
    }
    const taskPath = `/viewer/task_status/${uuid}/`;
    const taskUrl =
      options.taskUrl === 'absolute'
        ? `${BASE}${taskPath}`
        : options.taskUrl === 'internal'
          ? `${INTERNAL}${taskPath}`
          : taskPath;
    return json({ task_status_url: taskUrl }, 202);
  }

  function taskStatus(uuid: string): Response {
    if (!/^[0-9a-f-]{36}$/.test(uuid)) return htmlPage(404, '<h1>Not Found</h1>');
    const build = builds.get(uuid);
    if (!build) return json({ started: false, finished: false, status: 'UNKNOWN', messages: [] });
    const replies = polls(build.fileUrl);
    const reply = replies[Math.min(build.polls, replies.length - 1)] as Reply;
    build.polls += 1;
    if (reply === 'html404') return htmlPage(404, '<h1>Not Found</h1>');
    return json(reply.body, reply.status, reply.headers);
  }

  function fetchArchive(request: Request): Response {
    const fileUrl = new URL(request.url).searchParams.get('file_url');
    if (!fileUrl) return json({ message: 'Please provide file_url parameter from post response' }, 404);
    const [dir, file] = fileUrl.split('/').slice(-2);
    const build = dir ? builds.get(dir) : undefined;
    if (!build || build.fileUrl.split('/').pop() !== file)
      return json({ message: 'file_url is not found' }, 404);
    if (build.deleted)
      return htmlPage(500, '<!doctype html><html><body><h1>Server Error (500)</h1></body></html>');
    const bytes = archiveOf(build.fileUrl);
    const headers = {
      // Whatever the format.
      'content-type': 'application/zip',
      'content-disposition': `attachment; filename="${file}"`,
      'content-length': String(bytes.byteLength),
    };
    if (request.method === 'HEAD') return new HttpResponse(null, { status: 200, headers });
    // No Range support: a Range header is ignored, the whole file comes with 200.
    if (truncate > 0) {
      truncate -= 1;
      const half = bytes.slice(0, Math.floor(bytes.byteLength / 2));
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(half);
          } else controller.error(new Error('connection reset by peer'));
        },
      });
      return new HttpResponse(body, { status: 200, headers });
    }
    return new HttpResponse(bytes, { status: 200, headers });
  }

  async function route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const p = url.pathname;
    const method = request.method;
    const user = userOf(request);
    if (!p.endsWith('/')) {
      return new HttpResponse(null, { status: 301, headers: { location: `${p}/${url.search}` } });
    }
    if (options.stale && user.authenticated && method === 'GET') {
      return new HttpResponse(null, {
        status: 302,
        headers: { location: `${KEYCLOAK}/realms/xchem/protocol/openid-connect/auth?client_id=fragalysis` },
      });
    }
    if (p === '/viewer/react/landing/' && method === 'GET') {
      state.landing += 1;
      return new HttpResponse('<!doctype html><html><body><div id="root"></div></body></html>', {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'set-cookie': `csrftoken=${CSRF}; expires=Thu, 01 Jan 2099 00:00:00 GMT; Max-Age=31449600; Path=/; SameSite=Lax`,
        },
      });
    }
    const accept = request.headers.get('accept') ?? '';
    if (p.startsWith('/api/') && accept.includes('text/html') && !accept.includes('application/json')) {
      // DRF's browsable API for clients that prefer HTML.
      return htmlPage(
        200,
        '<!DOCTYPE html><html><head><title>Django REST framework</title></head><body></body></html>',
      );
    }
    if (method !== 'GET' && method !== 'HEAD' && user.authenticated) {
      const failure = csrfFailure(request);
      if (failure) return failure;
    }
    if (p === '/api/user/') {
      if (method !== 'GET') return json({ detail: `Method "${method}" not allowed.` }, 405);
      const block = { kind: 'ISPYB', name: 'ispyb-authenticator', version: '1.4.4', location: 'http://auth' };
      return json({
        user: user.username,
        user_id: user.id,
        ...(options.oldServer ? { version: block } : { authenticator: block }),
        ping: 'OK',
        target_access: user.tas,
      });
    }
    if (p === '/api/projects/' && method === 'GET') {
      return paginate(
        request,
        projects
          .filter((x) => readable(x.tas, user))
          .map((x) => ({
            id: x.id,
            target_access_string: x.tas,
            init_date: '2024-01-01T00:00:00Z',
            authority: 'DIAMOND-ISPYB',
            open_to_public: x.open,
            user_can_use_squonk: user.tas.includes(x.tas),
          })),
        options.maxLimit,
      );
    }
    if (p === '/api/targets/' && method === 'GET') {
      const title = url.searchParams.get('title');
      return paginate(
        request,
        targets
          .filter((t) => readable(tasOf(t), user) && (!title || t.title === title))
          .map((t) => ({
            id: t.id,
            title: t.title,
            display_name: `${t.title} display`,
            project: t.project,
            ...(options.oldServer ? {} : { project_title: tasOf(t), settings: {} }),
            default_squonk_project: null,
            template_protein: null,
            metadata: null,
            zip_archive: null,
            upload_status: null,
            short_name: null,
            long_name: null,
            organism: null,
            external_url: null,
            external_url_display_name: null,
            alias_order: null,
            brand_new_field: { anything: true },
          })),
        options.maxLimit,
      );
    }
    if (p === '/api/site_observations/' && method === 'GET') {
      const id = Number(url.searchParams.get('target'));
      const t = targets.find((x) => x.id === id && readable(tasOf(x), user));
      return paginate(
        request,
        (t?.observations ?? []).map((o) => ({
          id: o.id,
          code: o.code,
          longcode: `${o.code}-long`,
          smiles: o.smiles,
          cmpd: o.id + 1000,
          compound_code: null,
          prefix_tooltip: null,
          experiment: o.id,
          canon_site_conf: 1,
          xtalform_site: 2,
          pose: null,
          chain_id: 'A',
          seq_id: 301,
          version: 1,
          superseded: false,
          bound_file: `${INTERNAL}/media/target_loader_data/x/${o.code}.pdb`,
          event_file: null,
        })),
        options.maxLimit,
      );
    }
    if (p === '/api/target_experiment_uploads/' && method === 'GET') {
      return paginate(
        request,
        targets
          .filter((t) => readable(tasOf(t), user))
          .flatMap((t) =>
            t.uploads.map((u) => ({
              target: t.id,
              target_name: t.title,
              project: t.project,
              proposal_number: tasOf(t),
              tarball: `${INTERNAL}/media/target_loader_data/${t.title}_${tasOf(t)}/upload_${u.version}.tgz`,
              commit_datetime: u.at,
              committer: 9,
              committer_name: 'uploader',
              task_id: null,
              neighbourhood_transforms: null,
              conformer_site_transforms: null,
              reference_structure_transforms: null,
              upload_data_dir: `upload_${u.version}`,
              upload_version: u.version,
              data_version_major: 3,
              data_version_minor: 0,
            })),
          ),
        options.maxLimit,
      );
    }
    if (p === '/api/compound-sets/' && method === 'GET') {
      const target = url.searchParams.get('target');
      return paginate(
        request,
        targets
          .filter((t) => readable(tasOf(t), user) && (!target || String(t.id) === target))
          .map((t) => ({
            id: t.id * 10,
            name: `${t.title}-${tasOf(t)}-set`,
            target: t.id,
            submitted_sdf: `${INTERNAL}/media/compound_sets/${t.title}.sdf`,
            written_sdf_filename: null,
            spec_version: 1.2,
            method: 'Fragmenstein',
            method_url: null,
            submitter: 3,
            upload_date: '2025-07-01',
            owner_user: 3,
          })),
        options.maxLimit,
      );
    }
    if (p === '/api/download_structures/') {
      if (method === 'POST') return postDownload(request, user);
      if (method === 'GET' || method === 'HEAD') return fetchArchive(request);
      return json({ detail: `Method "${method}" not allowed.` }, 405);
    }
    const task = /^\/viewer\/task_status\/([^/]+)\/$/.exec(p);
    if (task && method === 'GET') return taskStatus(task[1] as string);
    return htmlPage(404, '<h1>Not Found</h1><p>The requested resource was not found on this server.</p>');
  }

  const record =
    (into: Logged[]) =>
    async ({ request }: { request: Request }) => {
      const entry: Logged = {
        method: request.method,
        url: new URL(request.url),
        headers: new Headers(request.headers),
        body: request.method === 'GET' || request.method === 'HEAD' ? '' : await request.clone().text(),
      };
      into.push(entry);
      return entry;
    };
  const handlers = [
    http.all(`${BASE}/*`, async (info) => {
      const entry = await record(log)(info);
      const response = await route(info.request);
      entry.status = response.status;
      return response;
    }),
    http.all(`${INTERNAL}/*`, async (info) => {
      await record(foreign)(info);
      return json({ detail: 'the internal host is not reachable from outside' }, 502);
    }),
    http.all(`${KEYCLOAK}/*`, async (info) => {
      await record(foreign)(info);
      return htmlPage(200, '<html><body>Keycloak login</body></html>');
    }),
  ];
  return { handlers, log, foreign, posts, state, builds, targets };
}
