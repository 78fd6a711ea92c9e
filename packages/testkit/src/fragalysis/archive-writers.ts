import { gzipSync } from 'node:zlib';
import { writeZip } from '../icsd/icsd-zip.js';

/** A file of a simulated archive: its relative path and bytes. */
export interface ArchiveFile {
  path: string;
  data: Uint8Array;
}

const encoder = new TextEncoder();

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, type: '0' | '5', mtime: number): Uint8Array {
  const h = Buffer.alloc(512);
  let prefix = '';
  let short = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 154);
    prefix = name.slice(0, cut);
    short = name.slice(cut + 1);
  }
  h.write(short, 0, 100, 'utf8');
  h.write(octal(type === '5' ? 0o755 : 0o644, 8), 100, 8, 'latin1');
  h.write(octal(0, 8), 108, 8, 'latin1');
  h.write(octal(0, 8), 116, 8, 'latin1');
  h.write(octal(size, 12), 124, 12, 'latin1');
  h.write(octal(mtime, 12), 136, 12, 'latin1');
  h.write('        ', 148, 8, 'latin1');
  h.write(type, 156, 1, 'latin1');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/**
 * A `.tar.gz` as the 2026 builder makes it (spec §4.7): `tar -C <dir> -cf - .` then gzip, so member names start
 * with `./`, with a `./` entry and an entry for every directory; only files and directories; fixed mtimes, so
 * the same files give the same bytes.
 */
export function writeTarGz(files: readonly ArchiveFile[], mtime: number): Uint8Array {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const chunks: Uint8Array[] = [header('./', 0, '5', mtime)];
  for (const d of [...dirs].sort()) chunks.push(header(`./${d}/`, 0, '5', mtime));
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    chunks.push(header(`./${f.path}`, f.data.byteLength, '0', mtime), f.data);
    const pad = (512 - (f.data.byteLength % 512)) % 512;
    if (pad) chunks.push(new Uint8Array(pad));
  }
  chunks.push(new Uint8Array(1024));
  return new Uint8Array(gzipSync(Buffer.concat(chunks), { level: 4 }));
}

/** A `.zip` (`use_zip`): the same tree, names relative, without `./`. */
export function writeArchiveZip(files: readonly ArchiveFile[], mtime: number): Uint8Array {
  return writeZip(
    files.map((f) => ({ name: f.path, data: f.data })),
    new Date(mtime * 1000),
  );
}

export function text(value: string): Uint8Array {
  return encoder.encode(value);
}
