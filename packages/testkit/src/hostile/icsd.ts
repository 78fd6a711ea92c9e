import type { RawRoute } from '../http-server.js';
import type { IcsdSimulator } from '../icsd/icsd-simulator.js';
import type { HostileStats } from './scenarios.js';

/**
 * Hostile ICSD answers, next to the ICSD simulator: CIFs whose collection code is no entry number, and searches
 * whose ids are not ids. They answer without checking the token or counting the quota (a raw route comes before
 * the simulator); everything else stays the simulator's.
 */

/** A raw route with its counters (CIF documents served, for the CIF route). */
export interface IcsdHostileRoute extends RawRoute {
  readonly stats: HostileStats & { cifs: number };
}

/**
 * `GET /ws/cif/multiple` and `GET /ws/cif/{id}` answered with the simulator's CIFs, except that the entries of
 * `codes` (internal id → text) carry that text as their collection code, consistently in the `data_` block, the
 * `_database_code_ICSD` line and the end line: a well-formed document whose code is `0`, `1` followed by 30
 * zeros, and so on. Unknown ids get 500, as from the simulator.
 */
export function icsdCifsWithCodes(
  sim: IcsdSimulator,
  codes: Readonly<Record<number, string>>,
  options: { base?: string } = {},
): IcsdHostileRoute {
  const base = options.base ?? '/ws';
  const stats = { requests: 0, bytesSent: 0, cifs: 0 };
  const render = (id: number): string | undefined => {
    const entry = sim.entryById(id);
    if (!entry) return undefined;
    const text = sim.cif(id);
    const code = codes[id];
    if (code === undefined) return text;
    const cc = entry.collectionCode;
    return text
      .replace(`data_${cc}-ICSD`, `data_${code}-ICSD`)
      .replace(new RegExp(`^_database_code_ICSD ${cc}$`, 'm'), `_database_code_ICSD ${code}`)
      .replace(`#End of TTdata_${cc}-ICSD`, `#End of TTdata_${code}-ICSD`);
  };
  return {
    match: { method: 'GET', path: new RegExp(`^${base.replace(/[/]/g, '\\/')}\\/cif\\/[^/]+$`) },
    stats,
    async handle(req, res, { url }) {
      stats.requests += 1;
      req.resume();
      const last = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
      const ids = last === 'multiple' ? url.searchParams.getAll('idnum') : [last];
      let body = '';
      for (const id of ids) {
        const text = /^\d+$/.test(id) ? render(Number(id)) : undefined;
        if (text === undefined) {
          const status = last === 'multiple' ? 500 : 404;
          res.writeHead(status, { 'content-type': 'text/plain;charset=UTF-8', connection: 'close' });
          res.end(
            status === 500 ? 'Internal Server Error' : `Not Found: no entry with id ${id.slice(0, 40)}`,
          );
          return;
        }
        body += text;
      }
      const bytes = Buffer.from(body, 'utf8');
      stats.bytesSent += bytes.byteLength;
      stats.cifs += ids.length;
      res.writeHead(200, {
        'content-type': 'application/cif;charset=UTF-8',
        'content-length': String(bytes.byteLength),
      });
      res.end(bytes);
    },
  };
}

/**
 * `GET /ws/search/simple` and `/ws/search/expert` answered `{"idnums": values}` as given: ids that are not ids
 * (`"0"`, `"1000000000000000000000000000000"`, `1e30`) among good ones.
 */
export function icsdSearchWith(
  values: readonly (string | number)[],
  options: { base?: string } = {},
): RawRoute & { readonly stats: HostileStats } {
  const base = options.base ?? '/ws';
  const stats = { requests: 0, bytesSent: 0 };
  // JSON as written: numbers such as 1e30 stay what they are.
  const body = Buffer.from(
    `{"idnums": [${values.map((v) => (typeof v === 'number' ? String(v) : JSON.stringify(v))).join(', ')}]}`,
  );
  return {
    match: {
      method: 'GET',
      path: new RegExp(`^${base.replace(/[/]/g, '\\/')}\\/search\\/(simple|expert)$`),
    },
    stats,
    async handle(req, res) {
      stats.requests += 1;
      req.resume();
      stats.bytesSent += body.byteLength;
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(body.byteLength),
      });
      res.end(body);
    },
  };
}
