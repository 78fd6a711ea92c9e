import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

/** The archive writers of the simulators: ZIP (ICSD `/cif/multiple`, Fragalysis `use_zip`) and `.tar.gz`. */
/** One file of a ZIP archive. */
export interface ZipFile {
  /** Name inside the archive (ASCII; written without the UTF-8 flag). */
  readonly name: string;
  readonly data: Uint8Array;
}

/** MS-DOS date and time fields of a date (local fields taken as UTC, 2-second resolution). */
function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.min(Math.max(date.getUTCFullYear(), 1980), 2107);
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

/**
 * Writes a ZIP archive (no ZIP64: under 65,535 files and 4 GiB). Each file is deflated, or stored when
 * deflating does not make it smaller.
 *
 * @internal
 */
export function writeZip(files: readonly ZipFile[], modified: Date): Uint8Array<ArrayBuffer> {
  const { time, date } = dosDateTime(modified);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const checksum = crc32(file.data) >>> 0;
    const deflated = deflateRawSync(file.data);
    const stored = deflated.byteLength >= file.data.byteLength;
    const body = stored
      ? Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength)
      : deflated;
    const method = stored ? 0 : 8;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed to extract
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(body.byteLength, 18);
    local.writeUInt32LE(file.data.byteLength, 22);
    local.writeUInt16LE(name.byteLength, 26);
    local.writeUInt16LE(0, 28); // extra length
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(body.byteLength, 20);
    central.writeUInt32LE(file.data.byteLength, 24);
    central.writeUInt16LE(name.byteLength, 28);
    // extra, comment, disk number, internal and external attributes: 0
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.byteLength + name.byteLength + body.byteLength;
  }
  const centralSize = centrals.reduce((sum, b) => sum + b.byteLength, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  const all = Buffer.concat([...locals, ...centrals, end]);
  const result = new Uint8Array(new ArrayBuffer(all.byteLength));
  result.set(all);
  return result;
}

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
