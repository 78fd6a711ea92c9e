import { gzipSync } from 'node:zlib';

/**
 * Archives of the conformance stack, built here byte by byte (not with the testkit's writers): a `.tar.gz` as
 * `tar -C dir -cf - . | pigz` makes it (a `./` entry, every name with `./`), a stored `.zip` as 7-Zip lists the
 * same tree (names without `./`).
 */

export interface ArchiveEntry {
  name: string;
  data?: string | Uint8Array;
  type?: 'file' | 'dir' | 'symlink';
  link?: string;
}

function tarHeader(name: string, size: number, type: string, link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(type === '5' ? '0000755\0' : '0000644\0', 100, 8, 'latin1');
  h.write('0001750\0', 108, 8, 'latin1');
  h.write('0001750\0', 116, 8, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  h.write('15124410600\0', 136, 12, 'latin1');
  h.write('        ', 148, 8, 'latin1');
  h.write(type, 156, 1, 'latin1');
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/** `tar -C dir -cf - . | pigz`: names as given (the caller adds `./`). */
export function tarGz(entries: ArchiveEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const type = e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0';
    parts.push(tarHeader(e.name, type === '0' ? data.length : 0, type, e.link));
    if (type === '0') {
      parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return new Uint8Array(gzipSync(Buffer.concat(parts), { level: 4 }));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A stored (uncompressed) zip, names relative without `./`, as 7-Zip lists the same tree. */
export function zip(entries: ArchiveEntry[]): Uint8Array {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = Buffer.from(e.data ?? '');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x5a21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(0x031e, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(0, 10);
    dir.writeUInt16LE(0, 12);
    dir.writeUInt16LE(0x5a21, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(((e.name.endsWith('/') ? 0o40755 : 0o100644) << 16) >>> 0, 38);
    dir.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    central.push(dir, name);
    offset += local.length + name.length + data.length;
  }
  const size = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, ...central, end]));
}

export const TREE: ArchiveEntry[] = [
  { name: 'metadata.csv', data: '"Code","Long code"\n"A0001a","x"\n' },
  { name: 'errors.csv', data: 'Param,Code,File not found when assembling download\n' },
  { name: 'README.md', data: '# Fragalysis download\n' },
  { name: 'aligned_files/', type: 'dir' },
  { name: 'aligned_files/A0001a/', type: 'dir' },
  { name: 'aligned_files/A0001a/A0001a.pdb', data: 'HEADER\nEND\n' },
  { name: 'aligned_files/A0001a/event_file_FILE_NOT_IN_UPLOAD', data: '' },
];
/** `tar -C <build dir> -cf - .`: a `./` entry, then every name with `./`. */
export const asTar = (entries: ArchiveEntry[]): ArchiveEntry[] => [
  { name: './', type: 'dir' },
  ...entries.map((e) => ({ ...e, name: `./${e.name}` })),
];
