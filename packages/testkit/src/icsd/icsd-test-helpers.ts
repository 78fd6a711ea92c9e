import { crc32, inflateRawSync } from 'node:zlib';

/** Helpers shared by the ICSD simulator tests (not exported from the package). */

export const DEMO = { loginid: 'demo', password: 'demo-password' } as const;

/** Logs in and returns the token; fails the test when the login does not succeed. */
export async function login(
  baseUrl: string,
  credentials: { loginid: string; password: string } = DEMO,
): Promise<string> {
  const res = await fetch(`${baseUrl}/auth/login`, {
    method: 'POST',
    body: new URLSearchParams(credentials),
  });
  const body = await res.text();
  const token = res.headers.get('icsd-auth-token');
  if (res.status !== 200 || token === null) throw new Error(`login failed: ${res.status} ${body}`);
  return token;
}

/** A GET with the token (when given) and query parameters, repeated keys allowed. */
export function get(
  baseUrl: string,
  path: string,
  token: string | undefined,
  params: readonly (readonly [string, string])[] = [],
  headers: Record<string, string> = {},
): Promise<Response> {
  const query = new URLSearchParams(params.map(([k, v]) => [k, v] as [string, string])).toString();
  return fetch(`${baseUrl}${path}${query === '' ? '' : `?${query}`}`, {
    headers: { ...(token === undefined ? {} : { 'ICSD-Auth-Token': token }), ...headers },
  });
}

/** Parses the ids of a search answer (XML or JSON). */
export async function searchIds(res: Response): Promise<number[]> {
  const body = await res.text();
  if (res.status !== 200) throw new Error(`search failed: ${res.status} ${body}`);
  if (body.startsWith('{')) return (JSON.parse(body) as { idnums: string[] }).idnums.map(Number);
  const inner = /<idnums>([^<]*)<\/idnums>/.exec(body)?.[1] ?? '';
  return inner === '' ? [] : inner.split(' ').map(Number);
}

export interface UnzippedFile {
  name: string;
  method: number;
  data: Buffer;
}

/** Reads a ZIP archive by hand (end record → central directory → local headers), inflating with node:zlib. */
export function unzip(archive: Buffer): UnzippedFile[] {
  const end = archive.length - 22;
  if (archive.readUInt32LE(end) !== 0x06054b50) throw new Error('no end of central directory record');
  const count = archive.readUInt16LE(end + 10);
  let position = archive.readUInt32LE(end + 16);
  const files: UnzippedFile[] = [];
  for (let i = 0; i < count; i++) {
    if (archive.readUInt32LE(position) !== 0x02014b50) throw new Error('bad central directory entry');
    const method = archive.readUInt16LE(position + 10);
    const compressedSize = archive.readUInt32LE(position + 20);
    const size = archive.readUInt32LE(position + 24);
    const nameLength = archive.readUInt16LE(position + 28);
    const extraLength = archive.readUInt16LE(position + 30);
    const commentLength = archive.readUInt16LE(position + 32);
    const localOffset = archive.readUInt32LE(position + 42);
    const name = archive.subarray(position + 46, position + 46 + nameLength).toString('utf8');
    if (archive.readUInt32LE(localOffset) !== 0x04034b50) throw new Error('bad local header');
    const dataStart =
      localOffset + 30 + archive.readUInt16LE(localOffset + 26) + archive.readUInt16LE(localOffset + 28);
    const raw = archive.subarray(dataStart, dataStart + compressedSize);
    const data = method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    if (data.length !== size) throw new Error(`size mismatch for ${name}`);
    if (crc32(data) >>> 0 !== archive.readUInt32LE(position + 16))
      throw new Error(`CRC mismatch for ${name}`);
    files.push({ name, method, data });
    position += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}
