import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { HttpResponse } from 'msw';
import { exactPath, route } from '../../routes.js';
import { expiredAccessTokens } from '../bearer.js';
import type { FragalysisSimTarget } from '../fragalysis-simulator.js';
import { FRAGALYSIS_PATHS, type FragalysisRoutes, type FragalysisSim, json } from '../state.js';

/**
 * Issue 14 (xca): OIDC bearer tokens refused with DRF's 403 (spec §11.2), and XCA uploads (spec §11.5):
 * `POST /api/upload_target_experiments/` (multipart: `target_access_string`, `file`, optional `contact_email`
 * and `sha256checksum`) starts a loader task reported by `/viewer/task_status/<uuid>/` with `"LEVEL: text"`
 * messages. The loader reads the bundle as the real one does: a tar (gzip or plain) whose top level holds
 * `upload_<n>/` with `config*.yaml` and `meta_aligner.yaml`; a missing folder or config fails the task, so does a
 * `version_dir` the target already has ("already uploaded"); a success adds a §4.8 row whose `upload_version` is
 * the bundle's `version_number`, creating the target (`target_name` of the config) when new. The outcome set with
 * `setTargetOutcome(title, tas, …)` applies: `failure` fails the load, `lost` leaves the task UNKNOWN forever.
 */

interface UploadTask {
  uuid: string;
  tas: string;
  fileName: string;
  user: string;
  startedAt: number;
  /** The loader's verdict, decided at once, shown once `buildMs` has passed. */
  result: { ok: true; title: string; version: number; dir: string } | { ok: false; error: string };
  lost: boolean;
  settled: boolean;
}

const tasks = new WeakMap<object, Map<string, UploadTask>>();

function uploadTasks(sim: FragalysisSim): Map<string, UploadTask> {
  let map = tasks.get(sim);
  if (!map) {
    map = new Map();
    tasks.set(sim, map);
  }
  return map;
}

/** Expires a user's access token: the stack then answers 403 "Token verification failed". */
export function expireAccessTokenOf(sim: FragalysisSim, token: string): void {
  expiredAccessTokens(sim).add(token);
}

interface TarEntry {
  name: string;
  type: string;
  data: Uint8Array;
}

/** The members of a tar (gzip or plain), as the loader sees them; throws for anything else. */
export function readTar(bytes: Uint8Array): TarEntry[] {
  let tar = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (tar[0] === 0x1f && tar[1] === 0x8b) tar = gunzipSync(tar);
  const entries: TarEntry[] = [];
  let longName: string | undefined;
  for (let at = 0; at + 512 <= tar.length; ) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    if (h.toString('latin1', 257, 262) !== 'ustar') throw new Error('not a tar archive');
    const field = (from: number, len: number) => h.toString('utf8', from, from + len).replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    const data = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const path = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      longName = path?.[1];
      continue;
    }
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    entries.push({ name, type, data });
  }
  return entries;
}

/** A top-level scalar of a YAML file (`key: value`), enough for the loader's few keys. */
function yamlScalar(text: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:[ \\t]*(.*?)[ \\t]*$`, 'm').exec(text);
  return m?.[1]?.replace(/^(['"])(.*)\1$/, '$2') || undefined;
}

/** What the loader makes of a bundle: the target, version and folder, or why it fails. */
function loadBundle(sim: FragalysisSim, tas: string, bytes: Uint8Array): UploadTask['result'] {
  let entries: TarEntry[];
  try {
    entries = readTar(bytes);
  } catch {
    return { ok: false, error: 'The uploaded file is not a tar archive' };
  }
  const files = new Map<string, string>();
  for (const e of entries) {
    if (e.type !== '0' && e.type !== '') continue;
    files.set(e.name.replace(/^\.\//, ''), Buffer.from(e.data).toString('utf8'));
  }
  const dirs = [...files.keys()]
    .map((n) => /^(upload_\d+)\//.exec(n)?.[1])
    .filter((d): d is string => d !== undefined);
  const top = dirs[0];
  if (!top) return { ok: false, error: 'No upload_* folder in the uploaded file' };
  const config = [...files.entries()].find(([n]) => new RegExp(`^${top}/config[^/]*\\.yaml$`).test(n));
  if (!config) return { ok: false, error: `No config*.yaml in ${top}` };
  const meta = files.get(`${top}/meta_aligner.yaml`);
  if (meta === undefined) return { ok: false, error: `No meta_aligner.yaml in ${top}` };
  const title = yamlScalar(config[1], 'target_name');
  if (!title) return { ok: false, error: `${config[0]} has no target_name` };
  const version = Number(yamlScalar(meta, 'version_number'));
  const dir = yamlScalar(meta, 'version_dir') ?? top;
  if (!Number.isInteger(version) || version < 1) {
    return { ok: false, error: 'meta_aligner.yaml has no version_number' };
  }
  const target = sim.targets.find((t) => t.title === title && t.tas === tas);
  if (target?.uploads.some((u) => u.version === version || `upload_${u.version}` === dir)) {
    return { ok: false, error: `${dir} of ${title} already uploaded` };
  }
  return { ok: true, title, version, dir };
}

/** Applies a finished load: the §4.8 row (and the target when new). */
function settle(sim: FragalysisSim, task: UploadTask): void {
  if (task.settled || task.lost || sim.now() - task.startedAt < sim.buildMs) return;
  task.settled = true;
  if (!task.result.ok) return;
  const { title, version } = task.result;
  let target = sim.targets.find((t) => t.title === title && t.tas === task.tas);
  if (!target) {
    const project = sim.projects.find((p) => p.tas === task.tas);
    if (!project) return;
    target = {
      id: Math.max(0, ...sim.targets.map((t) => t.id)) + 1,
      title,
      tas: task.tas,
      projectId: project.id,
      observations: [],
      uploads: [],
    } satisfies FragalysisSimTarget;
    sim.targets.push(target);
  }
  target.uploads.push({ version, at: new Date(sim.now()).toISOString(), committer: task.user });
  target.uploads.sort((a, b) => a.version - b.version);
}

function status(sim: FragalysisSim, task: UploadTask): Response {
  const lines = [`INFO: Upload ${task.fileName} saved`, `INFO: Processing ${task.fileName}`];
  if (task.lost) return json({ started: false, finished: false, status: 'UNKNOWN', messages: [] });
  if (sim.now() - task.startedAt < sim.buildMs) {
    return json({ started: true, finished: false, status: 'RUNNING', messages: lines });
  }
  settle(sim, task);
  if (!task.result.ok) {
    return json({
      started: true,
      finished: true,
      status: 'FAILED',
      messages: [...lines, `ERROR: ${task.result.error}`, 'FAILED'],
    });
  }
  return json({
    started: true,
    finished: true,
    status: 'SUCCESS',
    messages: [...lines, `INFO: ${task.fileName} uploaded successfully`, 'SUCCESS'],
  });
}

const TAS_PATTERN = /^[a-z]{2}\d{5}(-\d+)?$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const xcaRoutes: FragalysisRoutes = (sim, mount) => [
  // DRF refuses a bad bearer header on every API view (the landing page is a plain Django view).
  route('*', FRAGALYSIS_PATHS, ({ request }) => {
    const path = new URL(request.url).pathname;
    for (const task of uploadTasks(sim).values()) settle(sim, task);
    if (path.endsWith('/viewer/react/landing/')) return undefined;
    const { bearer } = sim.identify(request);
    if (bearer !== undefined && bearer !== 'user') return json({ detail: bearer.refused }, 403);
    return undefined;
  }),
  route('*', exactPath(mount.prefix, '/api/upload_target_experiments/'), async ({ request }) => {
    const method = request.method.toUpperCase();
    if (method !== 'POST') return json({ detail: `Method "${method}" not allowed.` }, 405);
    const { user, authenticated } = sim.identify(request);
    if (!authenticated) {
      return new HttpResponse(null, {
        status: 302,
        headers: { location: '/accounts/login/?next=/api/upload_target_experiments/' },
      });
    }
    let form: FormData;
    try {
      form = await request.formData();
    } catch {
      return json({ detail: 'Multipart form parse error' }, 400);
    }
    const errors: Record<string, string[]> = {};
    const tas = form.get('target_access_string');
    const file = form.get('file');
    const email = form.get('contact_email');
    const checksum = form.get('sha256checksum');
    if (typeof tas !== 'string' || tas === '') errors.target_access_string = ['This field is required.'];
    else if (!TAS_PATTERN.test(tas)) {
      errors.target_access_string = [`'${tas}' is not a valid target access string`];
    }
    if (!(file instanceof Blob)) errors.file = ['No file was submitted.'];
    if (typeof email === 'string' && email !== '' && !EMAIL.test(email)) {
      errors.contact_email = ['Enter a valid email address.'];
    }
    if (Object.keys(errors).length > 0) return json(errors, 400);
    const tasText = tas as string;
    const blob = file as File;
    if (!user.tas.includes(tasText)) {
      return json({ target_access_string: [`You are not authorized to upload data to '${tasText}'`] }, 403);
    }
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (typeof checksum === 'string' && checksum !== '') {
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== checksum.toLowerCase()) {
        return json({ sha256checksum: ['The checksum does not match the uploaded file'] }, 400);
      }
    }
    const result = loadBundle(sim, tasText, bytes);
    const outcome = result.ok ? sim.outcomes.get(`${result.title}|${tasText}`) : undefined;
    const id = sim.uuid();
    uploadTasks(sim).set(id, {
      uuid: id,
      tas: tasText,
      fileName: blob.name || 'upload.tgz',
      user: user.username,
      startedAt: sim.now(),
      result:
        outcome === 'failure' ? { ok: false, error: 'Loader crashed: No space left on device' } : result,
      lost: outcome === 'lost',
      settled: false,
    });
    return json({ task_status_url: `/viewer/task_status/${id}/` }, 202);
  }),
  route('GET', exactPath(mount.prefix, '/viewer/task_status/:id/'), ({ request }) => {
    const id = new URL(request.url).pathname.split('/').at(-2) as string;
    const task = uploadTasks(sim).get(id);
    if (!task) return undefined;
    const { user, authenticated } = sim.identify(request);
    if (!task.lost && !authenticated) {
      return json({ error: 'Only authenticated users can check the task status' }, 403);
    }
    if (!task.lost && !user.tas.includes(task.tas)) {
      return json({ error: `You are not a member of the proposal ${task.tas}` }, 403);
    }
    return status(sim, task);
  }),
];
