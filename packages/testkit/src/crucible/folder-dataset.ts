import type { CrucibleSimulator } from './crucible-simulator.js';
import type { CrucibleSimFile } from './model.js';

export interface FolderDatasetOptions {
  /** How many files (default 100). */
  files?: number;
  /** Files per folder with the default layout (default 100). */
  perFolder?: number;
  /** Bytes per file (default 256): the file's path and index repeated, so no two files are alike. */
  size?: number;
  /**
   * The path in the dataset of file `index` (it may contain `/`, as ingestors copy folders). Default:
   * `raw/run-0000/frame-0000.h5`, … (`perFolder` frames a run folder, numbered from 0).
   */
  pathOf?: (index: number) => string;
}

export interface FolderDatasetFile {
  mfid: string;
  /** The path in the dataset (`storage_path` without `mf-storage-prod/<dsid>/`). */
  path: string;
  file: CrucibleSimFile;
}

const pad = (n: number) => String(n).padStart(4, '0');

/**
 * Fills a simulated dataset with ingested files in folders (`storage_path` = `mf-storage-prod/<dsid>/<path>`),
 * for selective downloads (spec §19.3): 10,000 files take a few seconds. Each file's upload name is unique (its
 * path with `/` made `__`), so no two share an upload object. Returns the files in creation order.
 *
 * @example
 * ```ts
 * const files = await addFolderFiles(sim, dsid, { files: 1000 }); // raw/run-0000/frame-0000.h5 …
 * ```
 */
export async function addFolderFiles(
  sim: CrucibleSimulator,
  datasetId: string,
  options: FolderDatasetOptions = {},
): Promise<FolderDatasetFile[]> {
  const count = options.files ?? 100;
  const perFolder = Math.max(1, options.perFolder ?? 100);
  const pathOf =
    options.pathOf ??
    ((i: number) => `raw/run-${pad(Math.floor(i / perFolder))}/frame-${pad(i % perFolder)}.h5`);
  const out: FolderDatasetFile[] = [];
  for (let i = 0; i < count; i++) {
    const path = pathOf(i);
    const size = options.size ?? 256;
    const line = Buffer.from(`${i} ${path}\n`);
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size; at += line.length) bytes.set(line.subarray(0, size - at), at);
    const file = await sim.addFile(datasetId, {
      filename: path.replace(/[\\/]/g, '__'),
      bytes,
      datasetPath: path,
    });
    out.push({ mfid: file.mfid, path, file });
  }
  return out;
}
