import { HttpResponse } from 'msw';
import type { Random } from '../random.js';

/** JSON value types the simulator reads from request bodies. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const encoder = new TextEncoder();

/** A JSON response with `Content-Length` (FastAPI style: `null` is a valid body). */
export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const body = encoder.encode(JSON.stringify(value === undefined ? null : value));
  return new HttpResponse(body, {
    status,
    headers: { 'content-type': 'application/json', 'content-length': String(body.byteLength), ...headers },
  });
}

/** FastAPI's error shape `{"detail": …}`. */
export function detail(status: number, message: unknown, headers: Record<string, string> = {}): Response {
  return json({ detail: message }, status, headers);
}

/** FastAPI's 422 with a `detail` list of `{loc, msg, type}`. */
export function validation(loc: readonly (string | number)[], msg: string, type = 'value_error'): Response {
  return json({ detail: [{ loc, msg, type }] }, 422);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The XML error page of Google Cloud Storage (`<Error><Code>…`). */
export function xmlError(status: number, code: string, message: string, details?: string): Response {
  const body = encoder.encode(
    `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>${
      details === undefined ? '' : `<Details>${escapeXml(details)}</Details>`
    }</Error>`,
  );
  return new HttpResponse(body, {
    status,
    headers: { 'content-type': 'application/xml; charset=UTF-8', 'content-length': String(body.byteLength) },
  });
}

/** The Crockford base32 alphabet of MFIDs. */
const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * An MFID: 16 bytes (a draft UUIDv7: 48-bit millisecond time, version nibble 7, random rest) as 26 lowercase
 * Crockford base32 characters, the form of spec §3 (`0tbg8f8eq1sbs000x1sdqdtpnm`).
 */
export function mfid(random: Random, timeMs: number): string {
  let value = BigInt(Math.max(0, Math.floor(timeMs))) & 0xffffffffffffn;
  value = (value << 4n) | 7n;
  for (let i = 0; i < 76; i += 19) value = (value << 19n) | BigInt(random.int(0, 0x7ffff));
  let out = '';
  for (let i = 0; i < 26; i++) {
    out = CROCKFORD[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

export const MFID_PATTERN = /^[0-9abcdefghjkmnpqrstvwxyz]{26}$/;

/** A random lowercase alphanumeric token (not secret: seeded, for reproducible keys and ids). */
export function token(random: Random, length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[random.int(0, alphabet.length - 1)];
  return out;
}

/** A naive ISO-8601 timestamp with microseconds and no offset, the server's form (`2026-01-15T19:01:54.440343`). */
export function naiveIso(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000');
}

const LA_FORMAT = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** An offset-aware Los Angeles timestamp, as the ingestion worker writes `time_completed` (`…T09:41:07-07:00`). */
export function laIso(ms: number): string {
  const parts: Record<string, string> = {};
  for (const p of LA_FORMAT.formatToParts(new Date(ms))) parts[p.type] = p.value;
  const local = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const offsetMin = Math.round((local - Math.floor(ms / 1000) * 1000) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${off}`;
}

/** `YYYYMMDDTHHMMSSZ`, the `X-Goog-Date` form. */
export function googDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export function parseGoogDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** An ISO-8601 query value as milliseconds; without an offset it is taken as UTC (spec §15.2). */
export function parseIsoMs(text: string): number | undefined {
  const withZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) || !/T/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? undefined : ms;
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on', 't', 'y']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off', 'f', 'n']);

/** FastAPI's boolean query parsing (case-insensitive; Python's `True`/`False` included). */
export function parseBool(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase();
  if (TRUE_WORDS.has(lower)) return true;
  if (FALSE_WORDS.has(lower)) return false;
  return undefined;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep merge: nested objects merge key by key, everything else (arrays too) is replaced. */
export function deepMerge(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

export function clone<T extends JsonValue>(value: T): T {
  return structuredClone(value);
}

// CRC32C (Castagnoli) for the `crc32c` of GCS object metadata: slicing-by-16 over 32-bit little-endian words
// (about 1.5 GB/s in V8, six times the byte-wise slicing-by-8), bytes one by one on big-endian hosts.
const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let k = 1; k < 16; k++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Continues a CRC32C over `data`; start with 0. */
export function crc32c(crc: number, data: Uint8Array): number {
  const t = CRC_TABLE;
  const d = data;
  const n = d.length;
  let c = ~crc >>> 0;
  let i = 0;
  if (LITTLE_ENDIAN) {
    while (i < n && ((d.byteOffset + i) & 3) !== 0) {
      c = (t[(c ^ (d[i] as number)) & 0xff] as number) ^ (c >>> 8);
      i++;
    }
    const words = new Int32Array(d.buffer, d.byteOffset + i, (n - i) >>> 2);
    const end = words.length & ~3;
    for (let w = 0; w < end; w += 4) {
      const a = c ^ (words[w] as number);
      const b = words[w + 1] as number;
      const e = words[w + 2] as number;
      const f = words[w + 3] as number;
      c =
        (t[3840 + (a & 0xff)] as number) ^
        (t[3584 + ((a >>> 8) & 0xff)] as number) ^
        (t[3328 + ((a >>> 16) & 0xff)] as number) ^
        (t[3072 + (a >>> 24)] as number) ^
        (t[2816 + (b & 0xff)] as number) ^
        (t[2560 + ((b >>> 8) & 0xff)] as number) ^
        (t[2304 + ((b >>> 16) & 0xff)] as number) ^
        (t[2048 + (b >>> 24)] as number) ^
        (t[1792 + (e & 0xff)] as number) ^
        (t[1536 + ((e >>> 8) & 0xff)] as number) ^
        (t[1280 + ((e >>> 16) & 0xff)] as number) ^
        (t[1024 + (e >>> 24)] as number) ^
        (t[768 + (f & 0xff)] as number) ^
        (t[512 + ((f >>> 8) & 0xff)] as number) ^
        (t[256 + ((f >>> 16) & 0xff)] as number) ^
        (t[f >>> 24] as number);
    }
    i += end * 4;
  }
  while (i < n) {
    c = (t[(c ^ (d[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

/** The GCS form of a CRC32C: base64 of its 4 big-endian bytes. */
export function crc32cBase64(crc: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes.toString('base64');
}

/** A single-range `Range: bytes=…` header against `size` bytes: the one `bytesResponse` honours. */
export { parseRange } from '../bytes-response.js';

/** A `Content-Range` of a resumable upload PUT: `bytes a-b/total`, `bytes *\/total` (a probe), `bytes a-b/*`. */
export type ContentRange =
  | { kind: 'chunk'; first: number; last: number; total: number | undefined }
  | { kind: 'probe'; total: number | undefined };

export function parseContentRange(header: string | null): ContentRange | undefined {
  if (header === null) return undefined;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(header);
  if (!m) return undefined;
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (m[1] === undefined) return { kind: 'probe', total };
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (last < first || (total !== undefined && last >= total)) return undefined;
  return { kind: 'chunk', first, last, total };
}

/** One part of a `multipart/form-data` body as the parser sees its headers. */
export interface MultipartPartInfo {
  name: string | undefined;
  filename: string | undefined;
  contentType: string | undefined;
}

/** Where the parser sends a part's bytes, in order. */
export interface MultipartSink {
  write(chunk: Uint8Array): Promise<void> | void;
  end(): Promise<void> | void;
}

export class MultipartError extends Error {}

function dispositionParam(header: string, name: string): string | undefined {
  const re = new RegExp(`(?:^|;)\\s*${name}\\*?=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  const raw = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '').trim();
  return raw;
}

/**
 * A streaming `multipart/form-data` parser: memory stays at one network chunk plus the boundary length, so a
 * 100 MB part goes to its sink without being buffered.
 *
 * @throws MultipartError on a malformed or truncated body.
 */
export async function parseMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  open: (info: MultipartPartInfo) => MultipartSink | Promise<MultipartSink>,
): Promise<void> {
  const dash = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let buf: Buffer = Buffer.alloc(0);
  let state: 'preamble' | 'after' | 'headers' | 'body' | 'done' = 'preamble';
  let sink: MultipartSink | undefined;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        if (state === 'preamble') {
          const at = buf.indexOf(dash);
          if (at < 0) {
            buf = buf.subarray(Math.max(0, buf.length - dash.length));
            break;
          }
          buf = buf.subarray(at + dash.length);
          state = 'after';
        }
        if (state === 'after') {
          if (buf.length < 2) break;
          if (buf[0] === 0x2d && buf[1] === 0x2d) {
            state = 'done';
            break;
          }
          if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw new MultipartError('malformed multipart boundary');
          buf = buf.subarray(2);
          state = 'headers';
        }
        if (state === 'headers') {
          const at = buf.indexOf('\r\n\r\n');
          if (at < 0) {
            if (buf.length > 16_384) throw new MultipartError('multipart part headers too long');
            break;
          }
          const headers = new Map<string, string>();
          for (const line of buf.subarray(0, at).toString('utf8').split('\r\n')) {
            const colon = line.indexOf(':');
            if (colon > 0)
              headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
          }
          const disposition = headers.get('content-disposition') ?? '';
          sink = await open({
            name: dispositionParam(disposition, 'name'),
            filename: dispositionParam(disposition, 'filename'),
            contentType: headers.get('content-type'),
          });
          buf = buf.subarray(at + 4);
          state = 'body';
        }
        if (state === 'body') {
          const at = buf.indexOf(delimiter);
          if (at >= 0) {
            if (at > 0) await sink?.write(buf.subarray(0, at));
            await sink?.end();
            sink = undefined;
            buf = buf.subarray(at + delimiter.length);
            state = 'after';
            continue;
          }
          const safe = buf.length - (delimiter.length - 1);
          if (safe > 0) {
            await sink?.write(buf.subarray(0, safe));
            buf = Buffer.from(buf.subarray(safe));
          }
          break;
        }
        break;
      }
      if (state === 'done') break;
    }
  } finally {
    reader.releaseLock();
  }
  if (state !== 'done') throw new MultipartError('truncated multipart body');
}

/** A 1×1 transparent PNG, base64: the thumbnails of generated datasets. */
export const TINY_PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
