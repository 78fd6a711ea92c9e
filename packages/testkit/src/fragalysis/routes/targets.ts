import { exactPath, route } from '../../routes.js';
import { type FragalysisRoutes, json } from '../state.js';

/** Projects and targets, as DRF pages; a target is identified by (title, TAS) and titles repeat (spec §3). */
export const targetRoutes: FragalysisRoutes = (sim, mount) => [
  route('GET', exactPath(mount.prefix, '/api/projects/'), ({ request }) => {
    const { user } = sim.identify(request);
    return sim.paginated(
      request,
      sim.projects
        .filter((p) => sim.visible(p.tas, user))
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
  }),
  route('GET', exactPath(mount.prefix, '/api/targets/:id/'), ({ request }) => {
    const id = new URL(request.url).pathname.split('/').at(-2) as string;
    // Not a number: no such route (Django's 404 page).
    if (!/^\d+$/.test(id)) return undefined;
    const { user } = sim.identify(request);
    const t = sim.targets.find((x) => x.id === Number(id));
    return t && sim.visible(t.tas, user) ? json(sim.targetJson(t)) : json({ detail: 'Not found.' }, 404);
  }),
  route('GET', exactPath(mount.prefix, '/api/targets/'), ({ request }) => {
    const q = new URL(request.url).searchParams;
    return sim.paginated(
      request,
      sim
        .visibleTargets(request)
        .filter((t) => !q.get('title') || t.title === q.get('title'))
        .filter((t) => !q.get('id') || String(t.id) === q.get('id'))
        .filter((t) => !q.get('project') || String(t.projectId) === q.get('project'))
        .map(sim.targetJson),
    );
  }),
];
