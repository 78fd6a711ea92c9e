import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  ServerError,
  UnsafeArchiveError,
} from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FragalysisClient, type FragalysisClientOptions, FragalysisTaskError } from '../src/index.js';

/**
 * Conformance with the Fragalysis wire protocol (spec fragalysis.md), against a stack written here from the spec
 * alone — not the testkit simulator — and stricter than it where the spec allows: HTTPS with the Referer check
 * on CSRF, DRF's browsable HTML for clients that prefer HTML, `next` links naming the internal host behind the
 * proxy, an old server without `project_title`, archives served as `application/zip` whatever their format,
 * no Range support, task-status quirks (string, array and empty `messages`, 403/408/500), and so on.
 */

const BASE = 'https://fragalysis.test';
/** What Django sees behind nginx: `next` links and absolute task URLs may name it. */
const INTERNAL = 'http://10.20.30.40:8000';
const KEYCLOAK = 'https://keycloak.test';
const TOKEN = 'q8t1c0nf0rmancesessi0n1d0000000';
const CSRF = 'csrf0conformance0token0000000000abcdefghijkl';

interface Obs {
  id: number;
  code: string;
  smiles: string | null;
}
interface Target {
  id: number;
  title: string;
  project: number;
  observations: Obs[];
  uploads: Array<{ version: number; at: string }>;
}
interface Logged {
  method: string;
  url: URL;
  headers: Headers;
  body: string;
  status?: number;
}
type Reply = { status: number; body: unknown; headers?: Record<string, string> } | 'html404';
interface ArchiveEntry {
  name: string;
  data?: string | Uint8Array;
  type?: 'file' | 'dir' | 'symlink';
  link?: string;
}

interface StackOptions {
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
const members = ['sw30864-12', 'lb18145-1'];

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

// --- archives, built here (not with the testkit's writers) -----------------------------------------------

function tarHeader(name: string, size: number, type: string, link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(type === '5' ? '0000755\0' : '0000644\0', 100, 8, 'latin1');
  h.write('0001750\0', 108, 8, 'latin1');
  h.write('0001750\0', 116, 8, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  h.write('15124410600\0', 136, 12, 'latin1');
  h.write('        ', 148, 8, 'latin1');
  h.write(type, 156, 1, 'latin1');
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/** `tar -C dir -cf - . | pigz`: names as given (the caller adds `./`). */
function tarGz(entries: ArchiveEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const type = e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0';
    parts.push(tarHeader(e.name, type === '0' ? data.length : 0, type, e.link));
    if (type === '0') {
      parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return new Uint8Array(gzipSync(Buffer.concat(parts), { level: 4 }));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A stored (uncompressed) zip, names relative without `./`, as 7-Zip lists the same tree. */
function zip(entries: ArchiveEntry[]): Uint8Array {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = Buffer.from(e.data ?? '');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x5a21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(0x031e, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(0, 10);
    dir.writeUInt16LE(0, 12);
    dir.writeUInt16LE(0x5a21, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(((e.name.endsWith('/') ? 0o40755 : 0o100644) << 16) >>> 0, 38);
    dir.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    central.push(dir, name);
    offset += local.length + name.length + data.length;
  }
  const size = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, ...central, end]));
}

const TREE: ArchiveEntry[] = [
  { name: 'metadata.csv', data: '"Code","Long code"\n"A0001a","x"\n' },
  { name: 'errors.csv', data: 'Param,Code,File not found when assembling download\n' },
  { name: 'README.md', data: '# Fragalysis download\n' },
  { name: 'aligned_files/', type: 'dir' },
  { name: 'aligned_files/A0001a/', type: 'dir' },
  { name: 'aligned_files/A0001a/A0001a.pdb', data: 'HEADER\nEND\n' },
  { name: 'aligned_files/A0001a/event_file_FILE_NOT_IN_UPLOAD', data: '' },
];
/** `tar -C <build dir> -cf - .`: a `./` entry, then every name with `./`. */
const asTar = (entries: ArchiveEntry[]): ArchiveEntry[] => [
  { name: './', type: 'dir' },
  ...entries.map((e) => ({ ...e, name: `./${e.name}` })),
];

// --- the stack ---------------------------------------------------------------------------------------------

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  HttpResponse.json(body as Record<string, unknown>, { status, headers });
const htmlPage = (status: number, body: string) =>
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

function cookiesOf(headers: Headers): Map<string, string> {
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

interface Build {
  uuid: string;
  key: string;
  fileUrl: string;
  polls: number;
  isStatic: boolean;
  deleted: boolean;
}

function createStack(options: StackOptions = {}) {
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

// --- harness -----------------------------------------------------------------------------------------------

const mock = setupServer();
beforeAll(() => mock.listen({ onUnhandledRequest: 'error' }));
afterEach(() => mock.resetHandlers());
afterAll(() => mock.close());

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-fragalysis-conformance-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Hashing on, so that tests can compare archives by their SHA-256.
const QUICK = { pollInterval: 10, maxWaitTime: 60_000, checksum: true };

function connect(options: StackOptions = {}, client: FragalysisClientOptions & { anonymous?: boolean } = {}) {
  const stack = createStack(options);
  mock.use(...stack.handlers);
  const { anonymous, ...rest } = client;
  const fragalysis = new FragalysisClient({
    stack: `${BASE}/`,
    ...(anonymous ? {} : { token: TOKEN }),
    ...rest,
  });
  return { stack, client: fragalysis };
}

async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

const EXPECTED_BODY = {
  target_name: 'Mpro',
  target_access_string: 'sw30864-12',
  proteins: '',
  file_url: '',
  // The web dialog's defaults (spec §6).
  all_aligned_structures: true,
  metadata_info: true,
  single_sdf_file: true,
  // The groups the server includes by default, sent explicitly.
  compound_sets: true,
  soakdb_files: true,
  yaml_files: true,
  extra_files: true,
  pymol_scripts: true,
  readme: true,
  // Everything else off.
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
  trans_matrix_info: false,
  static_link: false,
  use_zip: false,
  include_virtual_observations: false,
};

// --- tests -------------------------------------------------------------------------------------------------

describe('transport (spec §1, §2)', () => {
  it('sends every request with the trailing slash, the right method and Accept: application/json, so never meets a 301 or the browsable API', async () => {
    const { stack, client } = connect();
    const targets = await client.targets().toArray();
    expect(targets.length).toBeGreaterThan(0);
    await client.uploads();
    await client.compoundSmiles('Mpro', 'lb18145-1');
    await client.downloadTarget({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK });
    expect(stack.log.length).toBeGreaterThan(5);
    for (const r of stack.log) {
      expect(r.url.pathname.endsWith('/'), r.url.href).toBe(true);
      expect(r.status, `${r.method} ${r.url.pathname}`).not.toBe(301);
      if (r.url.pathname.startsWith('/api/')) expect(r.headers.get('accept')).toContain('application/json');
    }
    // The stack named with a trailing slash is the same stack.
    expect(client.baseUrl).toBe(BASE);
  });

  it('follows every page, re-basing `next` links that name the internal host on the configured stack', async () => {
    const { stack, client } = connect({ maxLimit: 2 });
    const targets = await client.targets().toArray();
    expect(targets.map((t) => `${t.title}@${t.tas}`)).toEqual([
      'Mpro@lb18145-1',
      'Mpro@sw30864-12',
      'A71EV2A@lb32627-66',
      'NSP3@sw30864-12',
    ]);
    const pages = stack.log.filter((r) => r.url.pathname === '/api/targets/');
    expect(pages.map((r) => r.url.searchParams.get('offset'))).toEqual([null, '2']);
    expect(stack.foreign).toEqual([]);
    // Every page carried the session, and only to the stack's host.
    expect(pages.every((r) => cookiesOf(r.headers).get('sessionid') === TOKEN)).toBe(true);
  });

  it('joins targets with projects on an old server without `project_title`, both paginated', async () => {
    const { stack, client } = connect({ oldServer: true, maxLimit: 1 }, { anonymous: true });
    const targets = await client.targets().toArray();
    expect(targets.map((t) => `${t.title}@${t.tas}`)).toEqual(['Mpro@lb18145-1', 'A71EV2A@lb32627-66']);
    expect(targets[0]?.raw).toHaveProperty('brand_new_field');
    expect(stack.log.filter((r) => r.url.pathname === '/api/projects/').length).toBe(2);
    expect(stack.foreign).toEqual([]);
  });

  it('reports error bodies whatever their shape: message, error, detail, field arrays, HTML', async () => {
    const { client } = connect();
    const notMember = await client
      .downloadTarget({ target: 'Secret', tas: 'lb99999-9', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(notMember).toBeInstanceOf(NotFoundError);
    expect((notMember as Error).message).toContain('User "alice" is not a member of lb99999-9');

    const ghost = await client
      .downloadTarget({ target: 'Ghost', tas: 'lb18145-1', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(ghost).toBeInstanceOf(NotFoundError);
    expect((ghost as Error).message).toContain('Target "Ghost" does not exist under project lb18145-1');

    mock.use(
      http.post(`${BASE}/api/download_structures/`, () =>
        json({ cif_info: ['Must be a valid boolean.'] }, 400),
      ),
      http.get(`${BASE}/api/compound-sets/`, () =>
        json({ detail: 'Authentication credentials were not provided.' }, 403),
      ),
      http.get(`${BASE}/viewer/task_status/*`, () => json({ error: 'Proposal lb0 not found' }, 404)),
      http.get(`${BASE}/api/site_observations/`, () =>
        htmlPage(
          500,
          '<!doctype html><html><head><title>Server Error (500)</title></head><body><h1>Server Error (500)</h1></body></html>',
        ),
      ),
    );
    const bad = await client
      .requestArchive({ target: 'Mpro', tas: 'lb18145-1', ...QUICK })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as Error).message).toContain('cif_info: Must be a valid boolean.');
    const denied = await client
      .compoundSets()
      .toArray()
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as Error).message).toContain('Authentication credentials were not provided.');
    const gone = await client
      .waitForTask('/viewer/task_status/0b6c3a52-5a61-4f0e-9a52-3b5d1f0c7e11/', QUICK)
      .catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect((gone as Error).message).toContain('Proposal lb0 not found');
    const html = await client.compoundSmiles('Mpro', 'lb18145-1').catch((e: unknown) => e);
    expect(html).toBeInstanceOf(ServerError);
    expect((html as Error).message).toContain('Server Error (500)');
    expect((html as Error).message).not.toContain('<h1>');
  }, 60_000);
});

describe('authentication (spec §3)', () => {
  it('sends the token only as `Cookie: sessionid=` and only to the stack host, never as a bearer token', async () => {
    const { stack, client } = connect({ maxLimit: 2, taskUrl: 'internal' });
    await client.targets().toArray();
    await client.downloadTarget({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK });
    for (const r of stack.log) {
      expect(r.headers.get('authorization')).toBeNull();
      expect(cookiesOf(r.headers).get('sessionid')).toBe(TOKEN);
    }
    expect(stack.foreign).toEqual([]);
  });

  it('accepts a token the server knows, and detects one it treats as anonymous (user_id 1, no target_access) before listing anything', async () => {
    const { client: good } = connect();
    const user = await good.verifyToken();
    expect(user?.user).toBe('alice');
    expect((await good.targets().toArray()).some((t) => t.tas === 'sw30864-12')).toBe(true);

    const { stack, client: bad } = connect({}, { token: 'expired0session0id0abcdefghijklmn' });
    const error = await bad
      .targets()
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/token/i);
    expect((error as Error).message).not.toContain('expired0session0id0abcdefghijklmn');
    expect(JSON.stringify(error)).not.toContain('expired0session0id0abcdefghijklmn');
    expect(stack.log.map((r) => r.url.pathname)).toEqual(['/api/user/']);
  });

  it('reports a same-host redirect of /api/user/ to a login page as a session to renew', async () => {
    const { client } = connect();
    mock.use(
      http.get(
        `${BASE}/api/user/`,
        () =>
          new HttpResponse(null, { status: 302, headers: { location: '/accounts/login/?next=/api/user/' } }),
      ),
      http.get(`${BASE}/accounts/login/`, () =>
        htmlPage(200, '<html><body><form>Log in</form></body></html>'),
      ),
    );
    const error = await client.verifyToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/renewal/);
  });

  it('reads the older /api/user/ shape (authenticator block under `version`)', async () => {
    const { client } = connect({ oldServer: true });
    const user = await client.verifyToken();
    expect(user?.target_access).toEqual(members);
  });

  it('stays anonymous without a token: public proposals only, no /api/user/ check, no cookie', async () => {
    const { stack, client } = connect({}, { anonymous: true });
    const targets = await client.targets().toArray();
    expect(new Set(targets.map((t) => t.tas))).toEqual(new Set(['lb18145-1', 'lb32627-66']));
    const result = await client.downloadTarget({
      target: 'A71EV2A',
      tas: 'lb32627-66',
      destination: dir,
      ...QUICK,
    });
    expect(result.bytes).toBeGreaterThan(0);
    expect(stack.log.some((r) => r.url.pathname === '/api/user/')).toBe(false);
    expect(stack.log.every((r) => !cookiesOf(r.headers).has('sessionid'))).toBe(true);
  });

  it('does not follow a stale session to the Keycloak host, and says the session needs renewal', async () => {
    const { stack, client } = connect({ stale: true });
    const error = await client
      .targets()
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/renew/i);
    expect((error as Error).message).not.toContain(TOKEN);
    expect(stack.foreign).toEqual([]);
  });

  it('fetches the CSRF cookie once and sends X-CSRFToken, the cookie and a same-origin Referer with every write', async () => {
    const { stack, client } = connect();
    await client.downloadTarget({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK });
    await client.downloadTarget({ target: 'NSP3', tas: 'sw30864-12', destination: dir, ...QUICK });
    expect(stack.state.landing).toBe(1);
    const posts = stack.log.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(2);
    for (const r of posts) {
      expect(r.status).toBe(202);
      expect(r.headers.get('x-csrftoken')).toBe(CSRF);
      expect(cookiesOf(r.headers).get('csrftoken')).toBe(CSRF);
      expect(r.headers.get('referer')).toBe(`${BASE}/viewer/react/landing/`);
    }
  });
});

describe('requesting an archive (spec §4.4, §6)', () => {
  it('POSTs JSON with every field explicit and the web dialog’s defaults', async () => {
    const { stack, client } = connect();
    await client.requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    const post = stack.log.find((r) => r.method === 'POST');
    expect(post?.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(post?.body ?? '{}')).toEqual(EXPECTED_BODY);
  });

  it('sends the chosen options under their wire names, the observation subset comma-separated', async () => {
    const { stack, client } = connect();
    await client.requestArchive({
      target: 'Mpro',
      tas: 'sw30864-12',
      options: {
        proteins: ['A0001a', 'A0002a'],
        eventFile: true,
        sigmaaFile: true,
        readme: false,
        pymolScripts: false,
        allAlignedStructures: false,
        ligandSdf: true,
        includeVirtualObservations: true,
      },
      ...QUICK,
    });
    expect(stack.posts[0]).toEqual({
      ...EXPECTED_BODY,
      proteins: 'A0001a,A0002a',
      event_file: true,
      sigmaa_file: true,
      readme: false,
      pymol_scripts: false,
      all_aligned_structures: false,
      ligand_sdf: true,
      include_virtual_observations: true,
    });
  });

  it('takes the old servers’ immediate 200 `file_url` (a zip) without polling', async () => {
    const { stack, client } = connect({ answer: 'immediate-zip' });
    const result = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      ...QUICK,
    });
    expect(result.immediate).toBe(true);
    expect(result.format).toBe('zip');
    expect(stack.log.some((r) => r.url.pathname.startsWith('/viewer/task_status/'))).toBe(false);
    expect(await filesUnder(result.extractedTo as string)).toContain('aligned_files/A0001a/A0001a.pdb');
  });

  it('answers an identical request with the cached archive at once (200 `file_url`, no new build)', async () => {
    const { stack, client } = connect();
    const first = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    const second = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    expect(first.immediate).toBe(false);
    expect(second.immediate).toBe(true);
    expect(second.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(second.sha256).toBe(first.sha256);
    expect(stack.builds.size).toBe(1);
  });

  it('waits out a full queue: 429 without Retry-After, with growing pauses, then the build', async () => {
    const { stack, client } = connect({ queueFull: 3 });
    const location = await client.requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(location.fileUrl).toMatch(/\/Mpro\.tar\.gz$/);
    expect(stack.log.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual([429, 429, 429, 202]);
  });

  it('gives up on a queue that stays full with a clear error within the deadline', async () => {
    const { client } = connect({ queueFull: 1_000 });
    const error = await client
      .requestArchive({ target: 'Mpro', tas: 'sw30864-12', pollInterval: 10, maxWaitTime: 1500 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FragalysisTaskError);
    expect((error as FragalysisTaskError).reason).toBe('queue');
    expect((error as Error).message).toMatch(/too many download requests/);
  }, 30_000);
});

describe('task status (spec §4.5, §8)', () => {
  it('follows a relative, an absolute and an internal-host task_status_url, always on the stack', async () => {
    for (const taskUrl of ['relative', 'absolute', 'internal'] as const) {
      const { stack, client } = connect({ taskUrl });
      const location = await client.requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
      expect(location.fileUrl).toMatch(/^\/code\/media\/downloads\/.+\/Mpro\.tar\.gz$/);
      expect(stack.log.filter((r) => r.url.pathname.startsWith('/viewer/task_status/')).length).toBe(3);
      expect(stack.foreign).toEqual([]);
      mock.resetHandlers();
    }
  });

  it('reports a FAILED build with its array message', async () => {
    const { client } = connect({
      polls: () => [
        {
          status: 200,
          body: { started: true, finished: false, status: 'RUNNING', messages: 'Adding SDFs...' },
        },
        {
          status: 200,
          body: {
            started: true,
            finished: true,
            status: 'FAILED',
            messages: ['The download task was lost (no worker result - it may never have run)'],
          },
        },
      ],
    });
    const error = await client
      .downloadTarget({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FragalysisTaskError);
    expect((error as FragalysisTaskError).reason).toBe('failed');
    expect((error as Error).message).toContain('The download task was lost');
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a build failure given as a string message', async () => {
    const { client } = connect({
      polls: () => [
        {
          status: 200,
          body: {
            started: true,
            finished: true,
            status: 'FAILED',
            messages: 'Creating tarball failed: disk full',
          },
        },
      ],
    });
    const error = await client
      .requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK })
      .catch((e: unknown) => e);
    expect((error as FragalysisTaskError).reason).toBe('failed');
    expect((error as Error).message).toContain('disk full');
  });

  it('treats a task that stays UNKNOWN (messages []) as lost, well before the overall deadline', async () => {
    const { client } = connect({
      polls: () => [
        { status: 200, body: { started: false, finished: false, status: 'UNKNOWN', messages: [] } },
      ],
    });
    const started = Date.now();
    const error = await client
      .requestArchive({
        target: 'Mpro',
        tas: 'sw30864-12',
        pollInterval: 10,
        maxWaitTime: 120_000,
        unknownTimeout: 500,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FragalysisTaskError);
    expect((error as FragalysisTaskError).reason).toBe('lost');
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('ends a build that never finishes at the deadline with a clear error', async () => {
    const { client } = connect({
      polls: () => [
        {
          status: 200,
          body: { started: true, finished: false, status: 'RUNNING', messages: 'Compressing tarball: 42.0%' },
        },
      ],
    });
    const started = Date.now();
    const error = await client
      .requestArchive({ target: 'Mpro', tas: 'sw30864-12', pollInterval: 10, maxWaitTime: 800 })
      .catch((e: unknown) => e);
    expect((error as FragalysisTaskError).reason).toBe('timeout');
    expect((error as Error).message).toMatch(/not ready within/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('keeps polling through a 408 and 500s on the task status (transient), then succeeds', async () => {
    const { stack, client } = connect(
      {
        polls: (fileUrl) => [
          { status: 408, body: { error: 'Task query timed out. Try again later' } },
          { status: 500, body: { error: 'Task query returned nothing, try again' } },
          { status: 500, body: { error: 'Task query returned nothing, try again' } },
          { status: 500, body: { error: 'Task query returned nothing, try again' } },
          { status: 500, body: { error: 'Task query returned nothing, try again' } },
          {
            status: 200,
            body: { started: true, finished: false, status: 'RUNNING', messages: 'Adding PDBs...' },
          },
          { status: 200, body: { started: true, finished: true, status: 'SUCCESS', messages: fileUrl } },
        ],
      },
      { maxRetries: 1 },
    );
    const location = await client.requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(location.fileUrl).toMatch(/Mpro\.tar\.gz$/);
    expect(stack.log.filter((r) => r.url.pathname.startsWith('/viewer/task_status/')).length).toBe(7);
  }, 60_000);

  it('reports 403 on the task status (not a member of the proposal) as a permission error', async () => {
    const { client } = connect({
      polls: () => [{ status: 403, body: { error: 'You are not a member of the proposal sw30864-12' } }],
    });
    const error = await client
      .requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as Error).message).toContain('You are not a member of the proposal sw30864-12');
  });

  it('keeps polling when a finished build does not name its archive yet', async () => {
    const { client } = connect({
      polls: (fileUrl) => [
        { status: 200, body: { started: true, finished: true, status: 'SUCCESS', messages: 'File created' } },
        { status: 200, body: { started: true, finished: true, status: 'SUCCESS', messages: fileUrl } },
      ],
    });
    const location = await client.requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(location.fileUrl).toMatch(/\/Mpro\.tar\.gz$/);
  });

  it('accepts a finished path that is not under /code/media/ and ends in .zip', async () => {
    const { client } = connect({
      polls: () => [
        {
          status: 200,
          body: {
            started: true,
            finished: true,
            status: 'SUCCESS',
            messages: '/srv/data/downloads/0b6c3a52-5a61-4f0e-9a52-000000000001/Mpro.zip',
          },
        },
      ],
    });
    const location = await client.requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(location.fileUrl).toBe('/srv/data/downloads/0b6c3a52-5a61-4f0e-9a52-000000000001/Mpro.zip');
  });
});

describe('fetching the archive (spec §4.6, §4.7)', () => {
  it('saves a tar.gz served as application/zip under the right name, and extracts its ./ members', async () => {
    const { stack, client } = connect();
    const result = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      ...QUICK,
    });
    expect(result.format).toBe('tar.gz');
    expect(result.archive.endsWith('.tar.gz')).toBe(true);
    const bytes = await readFile(result.archive);
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    const get = stack.log.find((r) => r.method === 'GET' && r.url.pathname === '/api/download_structures/');
    expect(get?.url.searchParams.get('file_url')).toBe(result.fileUrl);
    expect(await filesUnder(result.extractedTo as string)).toEqual([
      'README.md',
      'aligned_files/A0001a/A0001a.pdb',
      'aligned_files/A0001a/event_file_FILE_NOT_IN_UPLOAD',
      'errors.csv',
      'metadata.csv',
    ]);
  });

  it('goes by the archive, not the request: a use_zip request handed a cached tar.gz is saved and unpacked as tar.gz', async () => {
    const { client } = connect();
    await client.requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    const result = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      options: { useZip: true },
      ...QUICK,
    });
    expect(result.immediate).toBe(true);
    expect(result.format).toBe('tar.gz');
    expect(await filesUnder(result.extractedTo as string)).toContain('metadata.csv');
  });

  it('names the file after its bytes and Content-Disposition when the server path has no known suffix', async () => {
    const { stack, client } = connect();
    const fileUrl = '/code/media/downloads/0b6c3a52-5a61-4f0e-9a52-00000000abcd/Mpro';
    const bytes = zip(TREE);
    mock.use(
      http.post(`${BASE}/api/download_structures/`, () => json({ file_url: fileUrl })),
      http.get(`${BASE}/api/download_structures/`, ({ request }) => {
        stack.log.push({ method: 'GET', url: new URL(request.url), headers: request.headers, body: '' });
        return new HttpResponse(bytes, {
          headers: {
            'content-type': 'application/zip',
            'content-disposition': 'attachment; filename="Mpro.zip"',
            'content-length': String(bytes.byteLength),
          },
        });
      }),
    );
    const result = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      ...QUICK,
    });
    expect(result.format).toBe('zip');
    expect(result.archive).toBe(path.join(dir, 'Mpro_sw30864-12.zip'));
    expect((await readdir(dir)).sort()).toEqual(['Mpro_sw30864-12', 'Mpro_sw30864-12.zip']);
    expect(await filesUnder(result.extractedTo as string)).toContain('metadata.csv');
  });

  it('unpacks a zip whose names have no ./', async () => {
    const { client } = connect();
    const result = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      options: { useZip: true },
      ...QUICK,
    });
    expect(result.format).toBe('zip');
    expect(await filesUnder(result.extractedTo as string)).toContain('aligned_files/A0001a/A0001a.pdb');
  });

  it('starts a cut-short transfer again from zero (no Range support) and ends with a byte-identical file', async () => {
    const { stack, client } = connect({ truncate: 2 });
    const result = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    const expected = tarGz(asTar(TREE));
    const bytes = await readFile(result.archive);
    expect(Buffer.compare(bytes, Buffer.from(expected))).toBe(0);
    expect(result.bytes).toBe(expected.byteLength);
    const gets = stack.log.filter(
      (r) => r.method === 'GET' && r.url.pathname === '/api/download_structures/',
    );
    expect(gets).toHaveLength(3);
    // The server ignores Range anyway: none is sent.
    expect(gets.every((r) => r.headers.get('range') === null)).toBe(true);
    expect(await readdir(dir)).toEqual([path.basename(result.archive)]);
  });

  it('asks for a new build when the cached archive it was handed has been deleted meanwhile (500)', async () => {
    const { stack, client } = connect({ vanishOnOffer: true }, { maxRetries: 0 });
    const first = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    // The identical request is answered with the cached archive, which housekeeping deletes before the fetch.
    const second = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    expect(stack.builds.size).toBe(2);
    expect(second.fileUrl).not.toBe(first.fileUrl);
    expect(second.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(second.sha256).toBe(first.sha256);
    const fetches = stack.log.filter(
      (r) => r.method === 'GET' && r.url.pathname === '/api/download_structures/',
    );
    expect(fetches.map((r) => r.status)).toEqual([200, 500, 200]);
    expect(await readdir(dir)).toEqual(['Mpro_sw30864-12.tar.gz']);
  });

  it('re-fetches a preserved (static) download by its file_url', async () => {
    const { stack, client } = connect();
    const first = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      options: { staticLink: true },
      ...QUICK,
    });
    const again = await client.downloadTarget({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: path.join(dir, 'again'),
      options: { fileUrl: first.fileUrl },
      ...QUICK,
    });
    expect(again.immediate).toBe(true);
    expect(again.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(again.sha256).toBe(first.sha256);
    expect(stack.posts.at(-1)?.file_url).toBe(first.fileUrl);
  });

  it('explains a 500 on a freshly built archive as a missing archive', async () => {
    const { stack, client } = connect({}, { maxRetries: 0 });
    mock.use(
      http.get(`${BASE}/api/download_structures/`, async ({ request }) => {
        stack.log.push({ method: 'GET', url: new URL(request.url), headers: request.headers, body: '' });
        return htmlPage(500, '<h1>Server Error (500)</h1>');
      }),
    );
    const error = await client
      .downloadTarget({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as Error).message).toMatch(/no longer|deleted|expired/i);
    expect((error as Error).message).not.toMatch(/code\/media\/downloads/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reads the archive size with HEAD', async () => {
    const { client } = connect();
    const location = await client.requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(await client.archiveSize(location.fileUrl)).toBe(tarGz(asTar(TREE)).byteLength);
  });

  for (const [label, entries, format] of [
    [
      'a ../ member',
      [
        { name: './', type: 'dir' },
        { name: './../escaped.txt', data: 'x' },
      ],
      'tar.gz',
    ],
    ['an absolute member', [{ name: '/tmp/sciport-conformance-absolute.txt', data: 'x' }], 'tar.gz'],
    [
      'a symlink pointing out',
      [
        { name: './', type: 'dir' },
        { name: './link', type: 'symlink', link: '../../../etc' },
      ],
      'tar.gz',
    ],
    ['a zip ../ member', [{ name: '../escaped-zip.txt', data: 'x' }], 'zip'],
  ] as const) {
    it(`refuses ${label} and writes nothing outside the destination`, async () => {
      const { client } = connect();
      mock.use(
        http.get(`${BASE}/api/download_structures/`, ({ request }) => {
          const name = new URL(request.url).searchParams.get('file_url') ?? '';
          if (!name) return undefined;
          const bytes = format === 'zip' ? zip([...entries]) : tarGz([...entries]);
          return new HttpResponse(bytes, {
            headers: { 'content-type': 'application/zip', 'content-length': String(bytes.byteLength) },
          });
        }),
      );
      const dest = path.join(dir, 'out');
      const error = await client
        .downloadTarget({
          target: 'Mpro',
          tas: 'sw30864-12',
          destination: dest,
          extract: true,
          options: { useZip: format === 'zip' },
          ...QUICK,
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsafeArchiveError);
      expect(await readdir(dir)).toEqual(['out']);
      expect((await readdir(dest)).filter((n) => !n.endsWith('.tar.gz') && !n.endsWith('.zip'))).toEqual([]);
      await expect(stat('/tmp/sciport-conformance-absolute.txt')).rejects.toThrow();
    });
  }
});

describe('uploads, observations, SMILES, compound sets (spec §4.8, §4.10, §4.11, §4.13)', () => {
  it('reports upload statistics per (title, TAS): last index and its time, over every page', async () => {
    const { client } = connect({ maxLimit: 2 });
    const stats = await client.uploads();
    const byKey = new Map(stats.map((s) => [`${s.targetName}@${s.tas}`, s]));
    expect([...byKey.keys()].sort()).toEqual(['A71EV2A@lb32627-66', 'Mpro@lb18145-1', 'Mpro@sw30864-12']);
    const a71 = byKey.get('A71EV2A@lb32627-66');
    expect(a71?.lastUploadIndex).toBe(3);
    expect(a71?.lastUploadTimestamp.toISOString()).toBe('2025-09-09T09:09:09.999Z');
    expect(a71?.uploads.map((u) => u.uploadIndex)).toEqual([1, 2, 3]);
    expect(a71?.targetId).toBe(103);
    expect(a71?.projectId).toBe(13);
    expect(a71?.uploads[0]?.dataFormat).toBe('3.0');
    expect(byKey.get('Mpro@lb18145-1')?.lastUploadIndex).toBe(2);
    expect(byKey.get('Mpro@sw30864-12')?.lastUploadIndex).toBe(1);
  });

  it('syncs only targets with a newer upload (index or time), also when only the unpacked copy is kept', async () => {
    const { stack, client } = connect({ maxLimit: 2 });
    const targets = [
      { title: 'Mpro', tas: 'lb18145-1' },
      { title: 'A71EV2A', tas: 'lb32627-66' },
    ];
    const options = { ...QUICK, extract: true, keepArchive: false };
    const first = await client.sync(targets, dir, options);
    expect(first.map((r) => r.status)).toEqual(['downloaded', 'downloaded']);
    expect((await readdir(dir)).sort()).toEqual([
      '.sciport-fragalysis.json',
      'A71EV2A_lb32627-66',
      'Mpro_lb18145-1',
    ]);
    const posts = stack.posts.length;
    const second = await client.sync(targets, dir, options);
    expect(second.map((r) => r.status)).toEqual(['up-to-date', 'up-to-date']);
    expect(stack.posts.length).toBe(posts);

    // A new upload of one target; a re-upload of the other under the same index, later.
    stack.targets[0]?.uploads.push({ version: 3, at: '2026-01-01T00:00:00.000001Z' });
    const a71 = stack.targets.find((t) => t.id === 103);
    const last = a71?.uploads.find((u) => u.version === 3);
    if (last) last.at = '2026-02-02T00:00:00Z';
    const third = await client.sync(targets, dir, options);
    expect(third.map((r) => r.status)).toEqual(['downloaded', 'downloaded']);
    expect(third.map((r) => r.lastUploadIndex)).toEqual([3, 3]);
  });

  it('collects SMILES per exact (title, TAS), over paged observations, skipping nulls', async () => {
    const { stack, client } = connect({ maxLimit: 2 });
    expect((await client.compoundSmiles('Mpro', 'lb18145-1')).sort()).toEqual(['CCO', 'c1ccccc1']);
    expect((await client.compoundSmiles('Mpro', 'sw30864-12')).sort()).toEqual(['CN', 'OCC(=O)O']);
    const observed = stack.log.filter((r) => r.url.pathname === '/api/site_observations/');
    expect(new Set(observed.map((r) => r.url.searchParams.get('target')))).toEqual(new Set(['101', '102']));
    const codes: string[] = [];
    for await (const o of client.observations('Mpro', 'lb18145-1')) codes.push(o.code);
    expect(codes).toEqual(['A0001a', 'A0002a', 'A0003a', 'A0004a', 'A0005a']);
  });

  it('lists compound sets read-only, tolerating extra fields', async () => {
    const { stack, client } = connect();
    const sets = await client.compoundSets({ targetId: 102 }).toArray();
    expect(sets.map((s) => s.name)).toEqual(['Mpro-sw30864-12-set']);
    expect(sets[0]?.id).toBe(1020);
    expect(stack.log.every((r) => r.method === 'GET')).toBe(true);
  });
});

describe('secrets (spec §3.1, §4.6)', () => {
  it('keeps the task uuid (the archive path’s directory) out of errors and events', async () => {
    const events: string[] = [];
    const { client } = connect(
      {
        polls: () => [
          { status: 502, body: { detail: 'Bad gateway' } },
          { status: 403, body: { error: 'You are not a member of the proposal sw30864-12' } },
        ],
      },
      { maxRetries: 0, onEvent: (e) => events.push(JSON.stringify(e)) },
    );
    const error = await client
      .requestArchive({ target: 'Mpro', tas: 'sw30864-12', ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    const shown = `${(error as Error).message} ${JSON.stringify(error)} ${events.join(' ')}`;
    expect(events.some((e) => e.includes('task_status'))).toBe(true);
    expect(shown).not.toContain('0b6c3a52-5a61-4f0e-9a52-000000000001');
    expect(shown).not.toContain(TOKEN);
  });

  it('keeps the token and the archive path out of errors', async () => {
    const { client } = connect({}, { maxRetries: 0 });
    mock.use(
      http.get(`${BASE}/api/download_structures/`, () => json({ message: 'file_url is not found' }, 404)),
    );
    const error = await client
      .downloadTarget({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    const shown = `${(error as Error).message} ${JSON.stringify(error)} ${(error as Error).stack}`;
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain('0b6c3a52-5a61-4f0e-9a52-000000000001');
  });
});
