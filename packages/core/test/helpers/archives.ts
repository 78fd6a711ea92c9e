import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

/**
 * Minimal tar and zip writers for tests. Unlike real archivers they write any name and link target they are
 * given, which is the point: they build the hostile archives (`../x`, `/etc/x`, links pointing out) that the
 * extractor must refuse.
 */

export type TestEntry =
  | { name: string; type?: 'file'; data: string | Uint8Array; mode?: number; declaredSize?: number }
  | { name: string; type: 'dir' }
  | { name: string; type: 'symlink'; target: string }
  | { name: string; type: 'hardlink'; target: string }
  | { name: string; type: 'fifo' };

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

function tarHeader(name: string, size: number, typeflag: string, linkname = '', mode = 0o644): Buffer {
  const h = Buffer.alloc(512);
  let prefix = '';
  let short = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 154);
    prefix = name.slice(0, cut);
    short = name.slice(cut + 1);
  }
  h.write(short, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 8, 'latin1');
  h.write(octal(0, 8), 108, 8, 'latin1');
  h.write(octal(0, 8), 116, 8, 'latin1');
  h.write(octal(size, 12), 124, 12, 'latin1');
  h.write(octal(1_700_000_000, 12), 136, 12, 'latin1');
  h.write('        ', 148, 8, 'latin1');
  h.write(typeflag, 156, 1, 'latin1');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

export function makeTar(entries: TestEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.type === 'dir') parts.push(tarHeader(e.name, 0, '5', '', 0o755));
    else if (e.type === 'symlink') parts.push(tarHeader(e.name, 0, '2', e.target, 0o777));
    else if (e.type === 'hardlink') parts.push(tarHeader(e.name, 0, '1', e.target));
    else if (e.type === 'fifo') parts.push(tarHeader(e.name, 0, '6'));
    else {
      const data = typeof e.data === 'string' ? Buffer.from(e.data) : Buffer.from(e.data);
      parts.push(tarHeader(e.name, data.length, '0', '', e.mode ?? 0o644), data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function makeTarGz(entries: TestEntry[]): Buffer {
  return gzipSync(makeTar(entries), { level: 6 });
}

export function makeZip(entries: TestEntry[], { deflate = true } = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name, 'utf8');
    let data: Buffer;
    let mode: number;
    if (e.type === 'dir') {
      data = Buffer.alloc(0);
      mode = 0o040755;
    } else if (e.type === 'symlink') {
      data = Buffer.from(e.target);
      mode = 0o120777;
    } else if (e.type === 'hardlink' || e.type === 'fifo') {
      throw new Error('zip has no hard links or fifos');
    } else {
      data = typeof e.data === 'string' ? Buffer.from(e.data) : Buffer.from(e.data);
      mode = 0o100000 | (e.mode ?? 0o644);
    }
    const method = deflate && data.length > 0 ? 8 : 0;
    const compressed = method === 8 ? deflateRawSync(data) : data;
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    const declared = 'declaredSize' in e && e.declaredSize !== undefined ? e.declaredSize : data.length;
    local.writeUInt32LE(declared, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, compressed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(declared, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralBuf = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBuf, end]);
}
