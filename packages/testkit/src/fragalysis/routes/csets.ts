import { HttpResponse } from 'msw';
import { text, writeArchiveZip } from '../../archives.js';
import { exactPath, pathParams, route } from '../../routes.js';
import { escapeHtml, readSdf, validateSdf, validationHtml, writeSdf } from '../csets-content.js';
import type { FragalysisSimTarget } from '../fragalysis-simulator.js';
import { compoundSetId, type FragalysisRoutes, type FragalysisSim, html, json } from '../state.js';

/**
 * Compound sets (spec §4.13, §11.4; issue 14): the list (exact `name`, exact `target`, `project` icontains; old
 * servers ignore `name`), the set download (an SDF, or a zip with the PDBs and `_MISSING` placeholders), the
 * molecules' scores, and the upload form with its validate and upload tasks (Celery states PENDING, STARTED,
 * then SUCCESS or FAILURE, or PENDING for ever with `csetTasks: 'never'`). A successful upload adds a set.
 */

interface SimMolecule {
  id: number;
  name: string;
  smiles: string;
  numerical: Record<string, number>;
  text: Record<string, string>;
}

interface SimSet {
  id: number;
  name: string;
  target: FragalysisSimTarget;
  method: string;
  sdf: string;
  /** Custom PDBs: the set downloads as a zip; `null` data is a file the server lacks (`_MISSING`). */
  pdbs?: Array<{ name: string; data: string | null }>;
  molecules: SimMolecule[];
  uploadDate: string;
}

interface SimTask {
  id: string;
  kind: 'validate' | 'upload';
  createdAt: number;
  rows: ReturnType<typeof validateSdf>;
  /** The set an upload adds when it succeeds (once). */
  create?: SimSet | undefined;
}

interface CsetState {
  sets: SimSet[];
  tasks: Map<string, SimTask>;
  nextMolecule: number;
}

const states = new WeakMap<FragalysisSim, CsetState>();

function moleculesFrom(records: ReturnType<typeof readSdf>, state: CsetState): SimMolecule[] {
  return records.slice(1).map((r) => {
    const numerical: Record<string, number> = {};
    const textScores: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.props)) {
      if (k === 'ref_mols' || k === 'original SMILES' || k === 'ref_pdb') continue;
      if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.trim())) numerical[k] = Number(v);
      else textScores[k] = v;
    }
    state.nextMolecule += 1;
    return {
      id: state.nextMolecule,
      name: r.name,
      smiles: r.props['original SMILES'] ?? '',
      numerical,
      text: textScores,
    };
  });
}

function seed(sim: FragalysisSim): CsetState {
  const state: CsetState = { sets: [], tasks: new Map(), nextMolecule: 0 };
  for (const t of sim.targets) {
    const first = sim.targets.find((x) => x.title === t.title) === t;
    const name = first ? `${t.title}-set1` : `${t.title}-set1-${t.tas}`;
    const obs = t.observations.slice(0, 3);
    const molecules = obs.map((o, i) => ({
      name: `${t.title}-m${i + 1}`,
      props: {
        ref_mols: o.code,
        'original SMILES': o.smiles,
        ref_pdb: `${o.code}.pdb`,
        docking_score: -(5 + i * 1.25),
        comment: i === 0 ? 'best, "by far"' : `pose ${i + 1}`,
      },
    }));
    const sdf = writeSdf(
      {
        submitter_name: 'Sim User',
        submitter_email: 'sim@example.org',
        submitter_institution: 'Simulated',
        generation_date: '2025-07-01',
        method: 'docking',
        ref_url: 'https://example.org/method',
      },
      molecules,
    );
    const set: SimSet = {
      id: compoundSetId(t),
      name,
      target: t,
      method: 'docking',
      sdf,
      molecules: moleculesFrom(readSdf(sdf), state),
      uploadDate: '2025-07-01',
    };
    // The first target's set has custom PDBs, one of them absent: it downloads as a zip.
    if (t.id === 1) {
      set.pdbs = obs.map((o, i) => ({
        name: `${o.code}.pdb`,
        data:
          i === 1
            ? null
            : `HEADER    ${o.code}\nATOM      1  C   LIG A   1       1.000   2.000   3.000\nEND\n`,
      }));
    }
    state.sets.push(set);
  }
  return state;
}

function csetState(sim: FragalysisSim): CsetState {
  let state = states.get(sim);
  if (!state) {
    state = seed(sim);
    states.set(sim, state);
  }
  return state;
}

function setJson(s: SimSet) {
  return {
    id: s.id,
    name: s.name,
    target: s.target.id,
    submitted_sdf: `${s.name}.sdf`,
    written_sdf_filename: `${s.name}_written.sdf`,
    spec_version: 1.2,
    method: s.method,
    method_url: null,
    submitter: 4,
    upload_date: s.uploadDate,
    owner_user: 4,
  };
}

function formPage(errors: readonly string[] = [], script = ''): Response {
  const list = errors.length
    ? `<ul class="errorlist">${errors.map((e) => `<li>${escapeHtml(e)}</li>`).join('')}</ul>`
    : '';
  return html(
    200,
    `<!DOCTYPE html><html><head><title>Upload a computed set</title></head><body><h1>Upload a computed set</h1>${list}` +
      '<form method="post" enctype="multipart/form-data" action="/viewer/upload_cset/">' +
      '<input type="text" name="target_name"><input type="text" name="proposal_ref">' +
      '<select name="submit_choice"><option value="V">Validate</option><option value="U">Upload</option>' +
      '<option value="D">Delete</option></select><input type="file" name="sdf_file"><input type="file" name="pdb_zip">' +
      `<button type="submit">Submit</button></form>${script}</body></html>`,
  );
}

const backToForm = () =>
  new HttpResponse(null, { status: 302, headers: { location: '/viewer/upload_cset/' } });

/** A task's Celery state now: PENDING, STARTED, then SUCCESS or FAILURE (or PENDING for ever). */
function stateOf(sim: FragalysisSim, task: SimTask | undefined): string {
  if (!task) return 'PENDING';
  const mode = sim.options.csetTasks ?? 'success';
  const age = sim.now() - task.createdAt;
  if (mode === 'never' || age < sim.buildMs / 3) return 'PENDING';
  if (age < sim.buildMs) return 'STARTED';
  return mode === 'failure' ? 'FAILURE' : 'SUCCESS';
}

export const csetRoutes: FragalysisRoutes = (sim, mount) => [
  route('GET', exactPath(mount.prefix, '/api/compound-sets/'), ({ request }) => {
    const q = new URL(request.url).searchParams;
    const { user } = sim.identify(request);
    const name = q.get('name');
    const target = q.get('target');
    const project = q.get('project')?.toLowerCase();
    const list = csetState(sim)
      .sets.filter((s) => sim.visible(s.target.tas, user))
      // The 2024 servers ignore `name` (spec §4.13): every set comes back.
      .filter((s) => !name || sim.options.oldServer || s.name === name)
      .filter((s) => !target || String(s.target.id) === target)
      .filter((s) => !project || s.target.tas.toLowerCase().includes(project))
      .map(setJson);
    return sim.paginated(request, list);
  }),
  route('POST', exactPath(mount.prefix, '/api/computedset_download/'), async ({ request }) => {
    const body = (await request.json().catch(() => ({}))) as { name?: unknown };
    const name = typeof body.name === 'string' ? body.name : '';
    const set = csetState(sim).sets.find((s) => s.name === name);
    if (!set) return json({ error: `ComputedSet '${name}' not found` }, 404);
    if (!sim.visible(set.target.tas, sim.identify(request).user))
      return json({ error: 'You have no access to the Project' }, 403);
    if (!set.pdbs) {
      const bytes = text(set.sdf);
      return new HttpResponse(bytes, {
        headers: {
          'content-type': 'text/plain',
          'content-disposition': `attachment; filename="${set.name}.sdf"`,
          'content-length': String(bytes.byteLength),
        },
      });
    }
    const files = [
      { path: `${set.name}.sdf`, data: text(set.sdf) },
      ...set.pdbs.map((p) =>
        p.data === null
          ? { path: `${p.name}_MISSING`, data: new Uint8Array() }
          : { path: p.name, data: text(p.data) },
      ),
    ];
    const zip = writeArchiveZip(files, 1_767_225_600);
    return new HttpResponse(zip, {
      headers: {
        'content-type': 'application/zip',
        'content-disposition': `attachment; filename="${set.name}.zip"`,
        'content-length': String(zip.byteLength),
      },
    });
  }),
  route('GET', exactPath(mount.prefix, '/api/compound-mols-scores/'), ({ request }) => {
    const wanted = new URL(request.url).searchParams.get('computed_set');
    const { user } = sim.identify(request);
    const rows = csetState(sim)
      .sets.filter((s) => sim.visible(s.target.tas, user))
      .filter((s) => !wanted || s.name === wanted || String(s.id) === wanted)
      .flatMap((s) =>
        s.molecules.map((m) => ({
          id: m.id,
          name: m.name,
          smiles: m.smiles,
          computed_set: s.name,
          numerical_scores: m.numerical,
          text_scores: m.text,
        })),
      );
    return sim.paginated(request, rows);
  }),
  route('GET', exactPath(mount.prefix, '/viewer/upload_cset/'), () => formPage()),
  route('POST', exactPath(mount.prefix, '/viewer/upload_cset/'), async ({ request }) => {
    const form = await request.formData().catch(() => undefined);
    if (!form) return backToForm();
    const title = form.get('target_name');
    const tas = form.get('proposal_ref');
    const choice = form.get('submit_choice');
    const file = form.get('sdf_file');
    if (typeof title !== 'string' || typeof tas !== 'string' || typeof choice !== 'string')
      return backToForm();
    if (!['V', 'U', 'D'].includes(choice) || typeof file === 'string' || file === null) return backToForm();
    const target = sim.targets.find((t) => t.title === title && t.tas === tas);
    if (!target) return backToForm();
    const { user, authenticated } = sim.identify(request);
    const action = choice === 'V' ? 'Validate' : choice === 'U' ? 'Upload' : 'Delete';
    if (!authenticated || !user.tas.includes(tas)) {
      return formPage([`You cannot do '${action}' on '${tas}' - you are not a member of the Project`]);
    }
    if (choice === 'D') return formPage(['Deleting a computed set is not simulated']);
    const sdf = await file.text();
    const rows = validateSdf(sdf, target);
    const state = csetState(sim);
    const kind = choice === 'V' ? 'validate' : 'upload';
    const task: SimTask = { id: sim.uuid(), kind, createdAt: sim.now(), rows };
    if (kind === 'upload' && rows.length === 0) {
      const records = readSdf(sdf);
      const method = (records[0]?.props.method ?? 'method').trim().replace(/[^A-Za-z0-9_-]+/g, '-');
      let name = `${target.title}-${method}`;
      const update = form.get('update_set');
      const replacing = typeof update === 'string' && update !== 'None' ? update : undefined;
      if (!replacing)
        for (let n = 2; state.sets.some((s) => s.name === name); n++) name = `${target.title}-${method}-${n}`;
      task.create = {
        id: 1000 + state.sets.length,
        name: replacing ?? name,
        target,
        method,
        sdf,
        molecules: moleculesFrom(records, state),
        uploadDate: new Date(sim.now()).toISOString().slice(0, 10),
      };
    }
    state.tasks.set(task.id, task);
    const url = `/viewer/${kind}_task/${task.id}/`;
    return formPage(
      [],
      `<script>\n  const ${kind}TaskUrl = "${url}";\n  pollTask(${kind}TaskUrl);\n</script>`,
    );
  }),
  route('GET', exactPath(mount.prefix, '/viewer/:kind/:id/'), ({ request }) => {
    const { kind, id } = pathParams(mount.prefix, '/viewer/:kind/:id/', new URL(request.url).pathname);
    if (kind !== 'validate_task' && kind !== 'upload_task') return undefined;
    const prefix = kind === 'validate_task' ? 'validate' : 'upload';
    const state = csetState(sim);
    const found = state.tasks.get(id as string);
    const task = found && `${found.kind}_task` === kind ? found : undefined;
    const status = stateOf(sim, task);
    const base = { [`${prefix}_task_status`]: status, [`${prefix}_task_id`]: id };
    if (status === 'FAILURE') {
      return json({
        ...base,
        [`${prefix}_traceback`]:
          'Traceback (most recent call last):\n  ...\nValueError: simulated worker failure',
      });
    }
    if (status !== 'SUCCESS' || !task) return json(base);
    if (task.rows.length > 0 || task.kind === 'validate') {
      return json({
        ...base,
        validated: task.rows.length ? 'Not validated' : 'Validated',
        html: validationHtml(task.rows),
      });
    }
    const created = task.create;
    if (created) {
      const i = state.sets.findIndex((s) => s.name === created.name);
      if (i >= 0) state.sets[i] = { ...created, id: (state.sets[i] as SimSet).id };
      else state.sets.push(created);
      task.create = undefined;
    }
    const name = created?.name ?? '';
    return json({
      ...base,
      validated: 'Validated',
      results: {
        cset_download_url: `/viewer/compound_set/${name}`,
        pset_download_url: `/viewer/protein_set/${name}`,
      },
    });
  }),
];
