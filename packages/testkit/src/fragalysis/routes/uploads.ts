import { exactPath, route } from '../../routes.js';
import type { FragalysisRoutes } from '../state.js';

/** The upload history of the visible targets (`/api/target_experiment_uploads/`), one row per version. */
export const uploadRoutes: FragalysisRoutes = (sim, mount) => [
  route('GET', exactPath(mount.prefix, '/api/target_experiment_uploads/'), ({ request }) => {
    const url = new URL(request.url);
    const rows = sim.visibleTargets(request).flatMap((t) =>
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
    return sim.paginated(request, rows);
  }),
];
