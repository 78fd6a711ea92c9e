import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { HttpResponse } from 'msw';
import { exactPath, route } from '../../routes.js';
import { type Build, type FragalysisRoutes, html, json } from '../state.js';

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

/**
 * `/api/download_structures/`: POST starts (or finds) an archive build (spec §4), GET/HEAD fetches a built
 * archive by its `file_url`; `/viewer/task_status/{uuid}/` reports a build's progress.
 */
export const downloadRoutes: FragalysisRoutes = (sim, mount) => {
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

  async function postDownload(
    request: Request,
    user: { username: string; tas: readonly string[] },
  ): Promise<Response> {
    sim.stats.postDownloads += 1;
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
      const found = sim.findBuild(fileUrl);
      if (!found?.isStatic)
        return json({ message: 'file_url should only be provided for static files' }, 400);
      sim.stats.immediateAnswers += 1;
      return json({ file_url: found.fileUrl });
    }
    const tas =
      body.target_access_string === undefined || body.target_access_string === null
        ? 'None'
        : String(body.target_access_string);
    const project = sim.projects.find((p) => p.tas === tas);
    if (!project) return json({ message: `Project "${tas}" does not exist` }, 404);
    if (!sim.visible(tas, user))
      return json({ message: `User "${user.username || '|anon|'}" is not a member of ${tas}` }, 404);
    const name = String(body.target_name ?? '');
    const target = sim.targets.find((t) => t.title === name && t.tas === tas);
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
    // The observation set is its rows: a re-processed observation (new id, same code) is another set.
    const chosen = new Set(codes);
    const rows = target.observations.filter((o) => chosen.size === 0 || chosen.has(o.code)).map((o) => o.id);
    const key = `${target.id}|${[...codes].sort().join(',')}|${rows.join(',')}|${matchFlags}`;
    const format: 'tar.gz' | 'zip' = sim.options.legacyImmediate || flags.use_zip ? 'zip' : 'tar.gz';
    for (const b of sim.builds.values()) {
      if (b.key !== key || sim.expired) continue;
      const p = sim.phase(b);
      if (p === 'success') {
        sim.stats.immediateAnswers += 1;
        return json({ file_url: b.fileUrl });
      }
      if (p === 'running') return json({ task_status_url: `/viewer/task_status/${b.uuid}/` }, 202);
    }
    if (!sim.options.legacyImmediate && sim.inFlight() >= sim.maxBuilds) {
      return json(
        { message: 'Fragalysis is serving too many download requests. Please try again later.' },
        429,
      );
    }
    const id = sim.uuid();
    const build: Build = {
      uuid: id,
      key,
      target,
      body,
      codes,
      flags,
      startedAt: sim.now(),
      outcome: sim.outcomes.get(`${target.title}|${target.tas}`) ?? 'success',
      format,
      isStatic: flags.static_link === true,
      fileUrl: `/code/media/downloads/${id}/${target.title}.${format}`,
    };
    sim.builds.set(id, build);
    sim.stats.buildsStarted += 1;
    if (sim.options.legacyImmediate) {
      build.startedAt = sim.now() - sim.buildMs;
      build.outcome = 'success';
      sim.ensureBytes(build);
      return json({ file_url: build.fileUrl });
    }
    return json({ task_status_url: `/viewer/task_status/${id}/` }, 202);
  }

  function taskStatus(
    id: string,
    user: { username: string; tas: readonly string[] },
    authenticated: boolean,
  ): Response {
    const build = sim.builds.get(id);
    if (!build) return json({ started: false, finished: false, status: 'UNKNOWN', messages: [] });
    const p = sim.phase(build);
    if (p === 'lost') {
      if (sim.options.lostAfterMs !== undefined && sim.now() - build.startedAt >= sim.options.lostAfterMs) {
        return json({
          started: true,
          finished: true,
          status: 'FAILED',
          messages: ['The download task was lost (no worker result - it may never have run)'],
        });
      }
      return json({ started: false, finished: false, status: 'UNKNOWN', messages: [] });
    }
    const project = sim.projects.find((x) => x.tas === build.target.tas);
    if (project && !project.openToPublic && !user.tas.includes(project.tas)) {
      return authenticated
        ? json({ error: `You are not a member of the proposal ${project.tas}` }, 403)
        : json({ error: 'Only authenticated users can check the task status' }, 403);
    }
    if (p === 'running') {
      const step = Math.min(
        PROGRESS.length - 1,
        Math.floor(((sim.now() - build.startedAt) / sim.buildMs) * PROGRESS.length),
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
    sim.ensureBytes(build);
    return json({ started: true, finished: true, status: 'SUCCESS', messages: build.fileUrl });
  }

  function fetchArchive(request: Request): Response {
    const fileUrl = new URL(request.url).searchParams.get('file_url');
    if (!fileUrl) return json({ message: 'Please provide file_url parameter from post response' }, 404);
    const build = sim.findBuild(fileUrl);
    if (!build) return json({ message: 'file_url is not found' }, 404);
    if (sim.expired) return html(500, '<h1>Server Error (500)</h1>');
    sim.stats.archiveFetches += 1;
    sim.ensureBytes(build);
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

  return [
    route('*', exactPath(mount.prefix, '/api/download_structures/'), ({ request }) => {
      const method = request.method.toUpperCase();
      if (method === 'POST') return postDownload(request, sim.identify(request).user);
      if (method === 'GET' || method === 'HEAD') return fetchArchive(request);
      return json({ detail: `Method "${method}" not allowed.` }, 405);
    }),
    route('GET', exactPath(mount.prefix, '/viewer/task_status/:id/'), ({ request }) => {
      const id = new URL(request.url).pathname.split('/').at(-2) as string;
      const { user, authenticated } = sim.identify(request);
      if (!/^[0-9a-f-]{36}$/.test(id)) return html(404, '<h1>Not Found</h1>');
      return taskStatus(id, user, authenticated);
    }),
  ];
};
