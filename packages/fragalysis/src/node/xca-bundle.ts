import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '@sciport/core';
import { unsafeReason } from '@sciport/core/node';
import type { ReadEntry } from 'tar';
import { parse as parseYaml } from 'yaml';

/**
 * The check of an XCA bundle before it is sent (spec §11.5, issue 14: xca): a tar (plain or gzip) whose top level
 * holds `upload_<n>/` with `meta_aligner.yaml` and `config*.yaml`, and no member that could land outside the
 * loader's folder (`..`, absolute names, links pointing out). The file is streamed (only member headers and the two
 * YAML files are read); a decompression bomb is stopped by the tar parser's ratio limit.
 */

/** What the check found in a bundle. */
export interface XcaBundleInfo {
  /** The bundle's folder, `upload_<n>`. */
  folder: string;
  /** The compression: `gzip` or `none` (a plain tar). */
  compression: 'gzip' | 'none';
  /** `target_name` of its `config*.yaml`, when it names one. */
  targetName: string | undefined;
  /** `version_number` and `version_dir` of its `meta_aligner.yaml`, when they are there. */
  versionNumber: number | undefined;
  versionDir: string | undefined;
  /** Members read. */
  entries: number;
}

/** At most this many members (a tar of millions of empty entries is not a bundle). */
const MAX_ENTRIES = 2_000_000;
/** The YAML files read are at most this large. */
const MAX_YAML_BYTES = 8 * 1024 * 1024;

const MAGIC: ReadonlyArray<readonly [string, number[]]> = [
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['zip', [0x50, 0x4b, 0x03, 0x04]],
];

function refuse(file: string, why: string): UsageError {
  return new UsageError(`${file} is not an XCA upload bundle: ${why}`, {
    hint: 'Upload the tarball XChemAlign made: a tar.gz whose top folder is upload_<n>/ with meta_aligner.yaml and config*.yaml',
  });
}

async function sniff(file: string): Promise<'gzip' | 'none'> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`Cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    for (const [name, magic] of MAGIC) {
      if (bytesRead >= magic.length && magic.every((b, i) => head[i] === b)) {
        if (name === 'zip') throw refuse(file, 'it is a zip file, not a tar');
        throw new UsageError(
          `${file} is ${name}-compressed: sciport checks the layout of plain and gzip tarballs only`,
          {
            hint: `Recompress it with gzip (e.g. ${name === 'bzip2' ? 'bunzip2' : name === 'xz' ? 'unxz' : 'unzstd'} then gzip)`,
          },
        );
      }
    }
    if (bytesRead === 512 && head.toString('latin1', 257, 262) === 'ustar') return 'none';
    throw refuse(file, bytesRead === 0 ? 'the file is empty' : 'it is not a tar archive');
  } finally {
    await handle.close();
  }
}

/** Reads a small member's text (bounded). */
function readText(entry: ReadEntry): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    entry.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_YAML_BYTES) chunks.push(chunk);
    });
    entry.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    entry.on('error', reject);
  });
}

function yamlRecord(text: string): Record<string, unknown> {
  try {
    const value: unknown = parseYaml(text, { maxAliasCount: 100 });
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/**
 * Checks an XCA bundle on disk; returns what it found.
 *
 * @throws UsageError naming the problem: not a tar, a compression sciport cannot read, an unsafe member, no
 *   `upload_<n>/` folder, or one without `meta_aligner.yaml` or `config*.yaml`.
 */
export async function checkXcaBundle(
  file: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<XcaBundleInfo> {
  const compression = await sniff(file);
  const { Parser } = await import('tar');
  const parser = new Parser({ strict: true });
  const folders = new Map<string, { meta?: string; config?: string; configName?: string }>();
  const reads: Promise<void>[] = [];
  let entries = 0;
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    parser.abort(error);
  };
  parser.on('entry', (entry: ReadEntry) => {
    entries += 1;
    const name = entry.path.replace(/^(\.\/)+/, '');
    if (failure || name === '' || name === '.') {
      entry.resume();
      return;
    }
    const why = unsafeReason(name);
    if (entries > MAX_ENTRIES) fail(refuse(file, `more than ${MAX_ENTRIES} members`));
    else if (why) fail(refuse(file, `the member ${JSON.stringify(entry.path)} is unsafe: ${why}`));
    else if ((entry.type === 'SymbolicLink' || entry.type === 'Link') && entry.linkpath) {
      const target =
        entry.type === 'Link'
          ? entry.linkpath
          : `${name.split('/').slice(0, -1).join('/')}/${entry.linkpath}`;
      const linkWhy = /^[\\/]|^[a-zA-Z]:/.test(entry.linkpath)
        ? 'it points to an absolute path'
        : unsafeReason(target.replace(/^\//, ''));
      if (linkWhy)
        fail(refuse(file, `the link ${JSON.stringify(entry.path)} points outside the bundle (${linkWhy})`));
    } else if (
      !['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link'].includes(entry.type)
    ) {
      fail(refuse(file, `the member ${JSON.stringify(entry.path)} is a ${entry.type}, not a file or folder`));
    }
    const m = /^(upload_\d+)\/([^/]+)$/.exec(name);
    if (!failure && m && (entry.type === 'File' || entry.type === 'OldFile')) {
      const [, folder, base] = m as unknown as [string, string, string];
      const slot = folders.get(folder) ?? {};
      folders.set(folder, slot);
      if (base === 'meta_aligner.yaml' || (/^config.*\.yaml$/.test(base) && slot.config === undefined)) {
        reads.push(
          readText(entry).then((text) => {
            if (base === 'meta_aligner.yaml') slot.meta = text;
            else {
              slot.config = text;
              slot.configName = base;
            }
          }),
        );
        return;
      }
    }
    entry.resume();
  });
  parser.on('warn', (code: string, message: string | Error) => {
    if (code === 'TAR_ENTRY_INVALID' || code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ABORT') {
      fail(
        refuse(file, `it is not a readable tar (${message instanceof Error ? message.message : message})`),
      );
    }
  });
  const onAbort = () => fail(new UsageError('The check of the bundle was interrupted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await pipeline(
      createReadStream(file, { highWaterMark: 1 << 20 }),
      parser as unknown as NodeJS.WritableStream,
      {
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    await Promise.all(reads);
  } catch (error) {
    if (failure) throw failure;
    if (UsageError.isInstance(error)) throw error;
    throw refuse(file, `it is not a readable tar (${(error as Error).message})`);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure;
  if (folders.size === 0 && entries === 0) throw refuse(file, 'the tar is empty');
  const candidates = [...folders.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  const complete = candidates.find(([, s]) => s.meta !== undefined && s.config !== undefined);
  if (!complete) {
    if (candidates.length === 0) throw refuse(file, 'it has no top-level upload_<n>/ folder');
    const [folder, slot] = candidates[0] as [string, { meta?: string; config?: string }];
    throw refuse(file, `${folder}/ has no ${slot.meta === undefined ? 'meta_aligner.yaml' : 'config*.yaml'}`);
  }
  const [folder, slot] = complete;
  const meta = yamlRecord(slot.meta as string);
  const config = yamlRecord(slot.config as string);
  const versionNumber = Number(meta.version_number);
  return {
    folder,
    compression,
    targetName: typeof config.target_name === 'string' ? config.target_name : undefined,
    versionNumber: Number.isInteger(versionNumber) && versionNumber > 0 ? versionNumber : undefined,
    versionDir: typeof meta.version_dir === 'string' ? meta.version_dir : undefined,
    entries,
  };
}
