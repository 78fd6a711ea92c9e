import { exactPath, route } from '../../routes.js';
import type { FragalysisRoutes } from '../state.js';

/** Site observations (with SMILES and their bound PDB) and compounds of the visible targets, by `?target=`. */
export const observationRoutes: FragalysisRoutes = (sim, mount) => [
  route('GET', exactPath(mount.prefix, '/api/site_observations/'), ({ request }) => {
    const url = new URL(request.url);
    const id = url.searchParams.get('target');
    const list = sim
      .visibleTargets(request)
      .filter((t) => !id || String(t.id) === id)
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
          bound_file: `${url.origin}/media/target_loader_data/${t.title}_${t.tas}/upload_${o.upload ?? 1}/${o.code}.pdb`,
          // issue 14: obsync (versions and more file fields, spec §4.10, §11.3)
          version: o.version ?? 1,
          apo_file: `${url.origin}/media/target_loader_data/${t.title}_${t.tas}/upload_${o.upload ?? 1}/${o.code}_apo.pdb`,
          ligand_mol: `${url.origin}/media/target_loader_data/${t.title}_${t.tas}/upload_${o.upload ?? 1}/${o.code}.mol`,
          event_file: o.hasEventMap
            ? `${url.origin}/media/target_loader_data/${t.title}_${t.tas}/upload_${o.upload ?? 1}/${o.code}_event.ccp4`
            : null,
        })),
      );
    return sim.paginated(request, list);
  }),
  route('GET', exactPath(mount.prefix, '/api/compounds/'), ({ request }) => {
    const id = new URL(request.url).searchParams.get('target');
    const list = sim
      .visibleTargets(request)
      .filter((t) => !id || String(t.id) === id)
      .flatMap((t) =>
        t.observations.map((o) => ({
          id: 1000 + o.id,
          smiles: o.smiles,
          current_identifier: o.compoundCode,
          compound_code: o.compoundCode,
          project_id: t.projectId,
        })),
      );
    return sim.paginated(request, list);
  }),
];
