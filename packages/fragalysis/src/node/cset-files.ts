import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { UsageError } from '@sciport/core';
import { detectArchiveFormat } from '@sciport/core/extract';
import { unsafeReason } from '@sciport/core/node';
import type yauzl from 'yauzl';

/**
 * The checks of a compound-set upload's files before anything is sent (spec §11.4): the SDF's structure, read as
 * a stream line by line, and the PDB zip's entry names, read from its central directory without extracting.
 */

export interface SdfSummary {
  /** Records (each ending with a `$$$$` line). */
  records: number;
  /** The name line of the first record (`ver_1.2` for a valid upload). */
  firstName: string;
}

/**
 * Checks that `file` is an SD file: text, records of a header block (name, program, comment), a counts line
 * ending in `V2000` or `V3000` with a well-formed V2000 atom/bond count, an `M  END` line, and `$$$$` closing
 * every record (the last one included).
 *
 * @throws UsageError naming the file, the record and the line that is wrong.
 */
export async function checkSdfFile(file: string, signal?: AbortSignal): Promise<SdfSummary> {
  const name = path.basename(file);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`${file} is not a file`);
  if (info.size === 0) throw new UsageError(`${name} is empty: an SD file holds records ending with $$$$`);
  const bad = (why: string) => new UsageError(`${name} is not an SD file (.sdf): ${why}; nothing was sent`);
  const lines = createInterface({
    input: createReadStream(file, { signal }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let lineNo = 0;
  let records = 0;
  let firstName = '';
  // Within the current record: its lines so far, its first line number, whether the counts line and M  END came.
  let inRecord = 0;
  let start = 0;
  let version: 'V2000' | 'V3000' | undefined;
  let end = false;
  for await (const line of lines) {
    lineNo += 1;
    if (line.includes('\0')) throw bad(`line ${lineNo} holds binary data`);
    if (inRecord === 0 && line.trim() === '' && records > 0) continue;
    if (line.trimEnd() === '$$$$') {
      if (inRecord === 0) throw bad(`line ${lineNo}: $$$$ closes an empty record`);
      if (!version)
        throw bad(`record ${records + 1} (line ${start}) has no counts line ending in V2000 or V3000`);
      if (!end) throw bad(`record ${records + 1} (line ${start}) has no "M  END" line`);
      records += 1;
      inRecord = 0;
      version = undefined;
      end = false;
      continue;
    }
    if (inRecord === 0) {
      start = lineNo;
      if (records === 0) firstName = line.trim();
    }
    inRecord += 1;
    if (inRecord === 4) {
      const m = /(V2000|V3000)\s*$/.exec(line);
      if (!m)
        throw bad(
          `record ${records + 1} (line ${lineNo}): the 4th line is not a counts line ending in V2000 or V3000`,
        );
      version = m[1] as 'V2000' | 'V3000';
      if (version === 'V2000' && !/^[ \d]{3}[ \d]{3}/.test(line)) {
        throw bad(
          `record ${records + 1} (line ${lineNo}): the counts line does not start with the atom and bond counts`,
        );
      }
    } else if (inRecord > 4 && /^M {2}END\s*$/.test(line)) end = true;
  }
  if (inRecord > 0) throw bad(`the last record (line ${start}) does not end with a $$$$ line`);
  if (records === 0) throw bad('it holds no record ending with $$$$');
  return { records, firstName };
}

/** How many entries a PDB zip may hold. */
const MAX_ZIP_ENTRIES = 100_000;

/**
 * Checks that `file` is a zip whose entry names all stay inside the folder it is unpacked into (no `..`,
 * absolute paths, drive letters or NUL bytes), reading only its central directory.
 *
 * @throws UsageError for a file that is not a zip, or an entry that would escape.
 */
export async function checkPdbZip(file: string): Promise<{ entries: number }> {
  const name = path.basename(file);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`${file} is not a file`);
  if ((await detectArchiveFormat(file)) !== 'zip') {
    throw new UsageError(
      `${name} is not a zip file (--pdb-zip takes a zip of the PDB files); nothing was sent`,
    );
  }
  const { default: yauzlModule } = await import('yauzl');
  // Names are read raw (not decoded and checked by yauzl) so that every name meets the same check as extraction.
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzlModule.open(file, { lazyEntries: true, decodeStrings: false, autoClose: true }, (error, z) =>
      error || !z ? reject(error) : resolve(z),
    ),
  ).catch((error: unknown) => {
    throw new UsageError(
      `${name} is not a readable zip file (${(error as Error).message}); nothing was sent`,
    );
  });
  let entries = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        entries += 1;
        const raw = entry.fileName as unknown as Buffer | string;
        const entryName = typeof raw === 'string' ? raw : raw.toString('utf8');
        const reason = unsafeReason(entryName.replace(/\/$/, '') || entryName);
        if (reason) {
          reject(
            new UsageError(
              `${name} has an entry ${JSON.stringify(entryName)} that would land outside the folder (${reason}); nothing was sent`,
            ),
          );
          return;
        }
        if (entries > MAX_ZIP_ENTRIES) {
          reject(new UsageError(`${name} has more than ${MAX_ZIP_ENTRIES} entries; nothing was sent`));
          return;
        }
        zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', (error: Error) =>
        reject(new UsageError(`${name} is not a readable zip file (${error.message}); nothing was sent`)),
      );
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return { entries };
}
