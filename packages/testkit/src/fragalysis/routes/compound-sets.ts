import { HttpResponse } from 'msw';
import { text, writeArchiveZip } from '../../archives.js';
import { exactPath, route } from '../../routes.js';
import { compoundSetId, type FragalysisRoutes, json } from '../state.js';

/** Compound sets (one per target, integer ids, spec §4.13) and their SDF download as a ZIP. */
export const compoundSetRoutes: FragalysisRoutes = (sim, mount) => [
  route('GET', exactPath(mount.prefix, '/api/compound-sets/'), ({ request }) => {
    const q = new URL(request.url).searchParams;
    const list = sim
      .visibleTargets(request)
      .filter((t) => !q.get('target') || String(t.id) === q.get('target'))
      .filter(
        (t) => !q.get('project') || t.tas.toLowerCase().includes((q.get('project') as string).toLowerCase()),
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
    return sim.paginated(request, list);
  }),
  route('GET', exactPath(mount.prefix, '/api/compound-sets/:id/download/'), ({ request }) => {
    const id = new URL(request.url).pathname.split('/').at(-3) as string;
    const { user } = sim.identify(request);
    const t = sim.targets.find((x) => String(compoundSetId(x)) === id);
    if (!t) return json({ error: `ComputedSet '${id}' not found` }, 404);
    if (!sim.visible(t.tas, user)) return json({ error: 'You have no access to the Project' }, 403);
    const zip = writeArchiveZip(
      [{ path: `${t.title}_set1.sdf`, data: text('virtual\n$$$$\n') }],
      1_767_225_600,
    );
    return new HttpResponse(zip, {
      headers: { 'content-type': 'application/zip', 'content-length': String(zip.byteLength) },
    });
  }),
];
