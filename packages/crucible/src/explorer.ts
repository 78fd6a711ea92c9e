import { UsageError } from '@sciport/core';

/**
 * The explorer (spec §19.1): the web pages of datasets and samples, whichever API URL is used, unless
 * `CRUCIBLE_EXPLORER_URL` (or the config's `crucible.explorerUrl`) names another.
 */
export const DEFAULT_CRUCIBLE_EXPLORER_URL = 'https://crucible.lbl.gov/explore';

/** What an explorer page shows: a dataset or a sample, by id, in its project. */
export interface ExplorerTarget {
  type: 'dataset' | 'sample';
  id: string;
  /** The explorer's pages are per project: without one there is no page. */
  projectId?: string | null | undefined;
}

/**
 * The explorer page of a dataset or sample (spec §19.1): `{explorer}/{project_id}/datasets/{id}` or
 * `{explorer}/{project_id}/samples/{id}`. `undefined` without a project or an explorer base (there is no page
 * then); a base that is not an http(s) URL is a `UsageError`.
 */
export function explorerUrl(target: ExplorerTarget, base: string | null | undefined): string | undefined {
  if (target.type !== 'dataset' && target.type !== 'sample')
    throw new UsageError(`The explorer has pages for datasets and samples, not ${String(target.type)}s`);
  const id = String(target.id ?? '').trim();
  if (!id) throw new UsageError('An explorer page needs an id');
  const project = target.projectId?.trim();
  const root = base?.trim();
  if (!project || !root) return undefined;
  let url: URL;
  try {
    url = new URL(root);
  } catch {
    throw new UsageError(`Not a URL: ${root} (the Crucible explorer)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UsageError(`Not an http(s) URL: ${root} (the Crucible explorer)`);
  const prefix = url.href.replace(/[?#].*$/, '').replace(/\/+$/, '');
  return `${prefix}/${encodeURIComponent(project)}/${target.type}s/${encodeURIComponent(id)}`;
}
