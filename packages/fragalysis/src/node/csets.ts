import { openAsBlob } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { type RequestOptions, requestOptions } from '@sciport/core';
import { detectArchiveFormat, extractArchive } from '@sciport/core/extract';
import { type DownloadProgress, downloadToFile, safeJoin, writeFileAtomic } from '@sciport/core/node';
import { explain } from '../internal/context.js';
import { CompoundSets } from '../resources/compound-sets.js';
import type {
  CompoundSetTask,
  CompoundSetTaskResult,
  CompoundSetUploadRequest,
  CompoundSetWaitOptions,
} from '../resources/csets-types.js';
import type { FragalysisCompoundMolecule } from '../schemas/csets.js';
import { checkPdbZip, checkSdfFile, type SdfSummary } from './cset-files.js';

export interface CompoundSetDownloadOptions extends RequestOptions {
  /** Folder to save into (created if needed). */
  destination: string;
  onProgress?: ((progress: DownloadProgress) => void) | undefined;
}

/**
 * What `compoundSets.download` saved. A set without custom PDBs comes as one SDF, saved as
 * `<destination>/<file>` (the server's file name); a set with PDBs comes as a zip, unpacked (safely) into
 * `<destination>/<name>/` (`<name>.sdf` and the PDBs; absent PDBs are empty `…_MISSING` placeholders, listed in
 * `missing`). The scores are saved beside as `<destination>/<name>.scores.csv`.
 */
export interface CompoundSetDownloadResult {
  name: string;
  /** `sdf` (a single SD file) or `zip` (the SDF and its PDBs, unpacked). */
  format: 'sdf' | 'zip';
  /** The set's SD file. */
  sdf: string;
  /** Where a zip was unpacked. */
  folder?: string | undefined;
  /** Every file saved, the scores included. */
  files: string[];
  /** The `_MISSING` placeholders of a zip (PDBs the server did not have), relative to `folder`. */
  missing: string[];
  /**
   * The scores, one CSV row per molecule: `name`, `smiles`, then one column per numerical score and one per text
   * score (a text score named like a numerical one gets ` (text)` appended).
   */
  scores: string;
  /** Molecules in the scores. */
  molecules: number;
  /** Bytes of the set's download (the SDF, or the zip). */
  bytes: number;
}

export interface CompoundSetUploadFileOptions
  extends Omit<CompoundSetUploadRequest, 'sdf' | 'sdfName' | 'pdbZip' | 'pdbZipName'>,
    CompoundSetWaitOptions {
  /** A zip of the PDB files the SDF names. */
  pdbZip?: string | undefined;
  /** Poll the task to its end (a validation is always worth waiting for; see `CompoundSetWaitOptions`). */
  wait?: boolean | undefined;
}

export interface CompoundSetUploadFileResult {
  /** What the local check of the SDF found. */
  sdf: SdfSummary;
  task: CompoundSetTask;
  /** The task's end, with `wait`. */
  result?: CompoundSetTaskResult | undefined;
}

/** A set name as a file name. */
function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || 'compound-set';
}

/** `attachment; filename="x.sdf"` (or `filename*=UTF-8''…`) → its base name, if it is a safe one. */
function dispositionName(header: string | null): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*[^']*'[^']*'([^;]+)/i.exec(header)?.[1];
  let raw = star?.trim();
  if (raw) {
    try {
      raw = decodeURIComponent(raw);
    } catch {
      // kept as sent
    }
  } else raw = /filename\s*=\s*"?([^";]+)"?/i.exec(header)?.[1]?.trim();
  if (!raw) return undefined;
  const base = raw.split(/[\\/]/).pop() ?? '';
  return base && !base.startsWith('.') ? fileSafe(base) : undefined;
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The scores as CSV: `name,smiles,<numerical…>,<text…>`. */
export function scoresCsv(molecules: readonly FragalysisCompoundMolecule[]): string {
  const numerical: string[] = [];
  const text: string[] = [];
  for (const m of molecules) {
    for (const k of Object.keys(m.numericalScores)) if (!numerical.includes(k)) numerical.push(k);
    for (const k of Object.keys(m.textScores)) if (!text.includes(k)) text.push(k);
  }
  const header = [
    'name',
    'smiles',
    ...numerical,
    ...text.map((k) => (numerical.includes(k) || k === 'name' || k === 'smiles' ? `${k} (text)` : k)),
  ];
  const rows = molecules.map((m) => [
    m.name,
    m.smiles,
    ...numerical.map((k) => m.numericalScores[k]),
    ...text.map((k) => m.textScores[k]),
  ]);
  return `${[header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n')}\n`;
}

/** Compound sets on Node: `download` saves a set and its scores, `uploadFile` checks and sends files from disk. */
export class NodeCompoundSets extends CompoundSets {
  /**
   * Downloads a set (`POST /api/computedset_download/ {"name"}`) into `destination`, and its scores
   * (`/api/compound-mols-scores/`) beside it as CSV (see `CompoundSetDownloadResult` for the layout). The
   * download is written under a temporary name and renamed (an SDF) or unpacked with core's safe extraction
   * (a zip: every entry checked, nothing outside the folder, no links); a failure leaves nothing behind.
   *
   * @throws NotFoundError for a set the server does not know; PermissionDeniedError for one of a proposal the
   *   caller has no access to; UnsafeArchiveError for a zip entry that would escape.
   */
  async download(name: string, options: CompoundSetDownloadOptions): Promise<CompoundSetDownloadResult> {
    const ctx = this.ctx;
    const dir = path.resolve(options.destination);
    await ctx.session.ensure(requestOptions(options));
    await mkdir(dir, { recursive: true });
    const safe = fileSafe(name);
    const temp = safeJoin(dir, `.${safe}.${process.pid}.cset-download`);
    let disposition: string | null = null;
    const files: string[] = [];
    try {
      let saved: { bytes: number };
      try {
        saved = await downloadToFile(
          async ({ signal }) => {
            const response = await ctx.http.stream('/api/computedset_download/', {
              ...requestOptions(options),
              signal,
              method: 'POST',
              json: { name },
              headers: { accept: 'text/plain, application/zip, application/json;q=0.5' },
              // Reading a set changes nothing on the server: repeating it after a lost answer is safe.
              idempotent: true,
            });
            disposition = response.headers.get('content-disposition');
            return response;
          },
          temp,
          {
            signal: options.signal,
            maxResumes: 2,
            service: 'fragalysis',
            hash: false,
            ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          },
        );
      } catch (error) {
        throw explain(ctx.baseUrl, error);
      }
      const result: Omit<CompoundSetDownloadResult, 'scores' | 'molecules' | 'files'> = {
        name,
        format: 'sdf',
        sdf: '',
        missing: [],
        bytes: saved.bytes,
      };
      if ((await detectArchiveFormat(temp)) === 'zip') {
        const folder = safeJoin(dir, safe);
        const entries: string[] = [];
        await extractArchive(temp, folder, {
          format: 'zip',
          overwrite: true,
          symlinks: 'refuse',
          signal: options.signal,
          onEntry: (e) => {
            if (e.type === 'file') entries.push(e.name);
          },
        });
        const sdfs = entries.filter((e) => /\.sdf$/i.test(e));
        const own = sdfs.find((e) => path.basename(e) === `${name}.sdf`) ?? sdfs[0];
        Object.assign(result, {
          format: 'zip',
          folder,
          sdf: own ? path.join(folder, own) : '',
          missing: entries.filter((e) => /_MISSING$/.test(e)),
        });
        files.push(...entries.map((e) => path.join(folder, e)));
      } else {
        let fileName = dispositionName(disposition) ?? `${safe}.sdf`;
        if (!/\.sdf$/i.test(fileName)) fileName = `${fileName}.sdf`;
        const final = safeJoin(dir, fileName);
        await rename(temp, final);
        result.sdf = final;
        files.push(final);
      }
      const molecules = await this.scores(name, requestOptions(options)).toArray();
      const scores = safeJoin(dir, `${safe}.scores.csv`);
      await writeFileAtomic(scores, scoresCsv(molecules));
      files.push(scores);
      return { ...result, files, scores, molecules: molecules.length };
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  /**
   * Checks an SDF (and a PDB zip) on disk, then uploads them (`startUpload`, streamed from the files) and, with
   * `wait` or `validateOnly`, waits for the task's end.
   *
   * @throws UsageError, before anything is sent, for a file that is not an SDF or a PDB zip that is not a zip or
   *   has an entry that would escape; then as `startUpload` and `waitTask`.
   */
  async uploadFile(
    file: string,
    options: CompoundSetUploadFileOptions,
  ): Promise<CompoundSetUploadFileResult> {
    const sdf = await checkSdfFile(file, options.signal);
    if (options.pdbZip !== undefined) await checkPdbZip(options.pdbZip);
    const { pdbZip, ...rest } = options;
    const task = await this.startUpload({
      ...rest,
      sdf: await openAsBlob(file),
      sdfName: path.basename(file),
      ...(pdbZip !== undefined
        ? { pdbZip: await openAsBlob(pdbZip), pdbZipName: path.basename(pdbZip) }
        : {}),
    });
    if (!options.wait && !options.validateOnly) return { sdf, task };
    return { sdf, task, result: await this.waitTask(task, options) };
  }
}
