import { HttpResponse } from 'msw';
import { text, writeArchiveZip } from '../../archives.js';
import { exactPath, route } from '../../routes.js';
import { compoundSetId, type FragalysisRoutes, json } from '../state.js';

/** The older compound-set download by id, as a ZIP (spec §4.13); the list and the rest are in `csets.ts`. */
export const compoundSetRoutes: FragalysisRoutes = (sim, mount) => [
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
