import { stat } from 'node:fs/promises';
import { NotFoundError, UsageError } from '@sciport/core';
import type { IcsdClient } from '@sciport/icsd';

/**
 * Where the CIFs of `sciport icsd structure` come from: operands that are existing `.cif` files are read
 * locally; the others must be collection codes, fetched from the service in one go.
 */

export type Operand =
  | { readonly kind: 'file'; readonly operand: string; readonly path: string }
  | { readonly kind: 'code'; readonly operand: string; readonly code: number }
  | { readonly kind: 'bad'; readonly operand: string; readonly error: Error };

/** Sorts the operands: an existing `.cif` file, a collection code (`1975`, or `1975,2001`), or a mistake. */
export async function classifyOperands(args: readonly string[]): Promise<Operand[]> {
  const out: Operand[] = [];
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (info?.isFile() && /\.cif$/i.test(arg)) {
      out.push({ kind: 'file', operand: arg, path: arg });
      continue;
    }
    if (/^\s*\d+(\s*,\s*\d+)*\s*,?\s*$/.test(arg)) {
      for (const part of arg.split(',')) {
        const text = part.trim();
        if (text === '') continue;
        const code = Number(text);
        if (code < 1 || !Number.isSafeInteger(code)) {
          out.push({
            kind: 'bad',
            operand: text,
            error: new UsageError(`Not an ICSD collection code: ${text}`),
          });
        } else out.push({ kind: 'code', operand: text, code });
      }
      continue;
    }
    const why = /\.cif$/i.test(arg)
      ? info?.isDirectory()
        ? `${arg} is a folder, not a CIF file`
        : `No such file: ${arg}`
      : `${JSON.stringify(arg)} is neither a .cif file nor an ICSD collection code`;
    out.push({ kind: 'bad', operand: arg, error: new UsageError(why) });
  }
  return out;
}

/**
 * The CIF text of each collection code, fetched with `icsd.cifs.listByCode` (expert search, `/csv` for the code
 * of each id, `/cif/multiple`; each CIF checked against the code asked). Codes with no entry get a
 * `NotFoundError`.
 */
export async function fetchByCode(
  client: IcsdClient,
  codes: readonly number[],
  signal: AbortSignal,
): Promise<Map<number, string | Error>> {
  const texts = new Map<number, string | Error>();
  const stream = client.cifs.listByCode(codes, { signal });
  for await (const cif of stream) {
    if (!texts.has(cif.collectionCode)) texts.set(cif.collectionCode, cif.text);
  }
  for (const code of new Set(codes)) {
    if (!texts.has(code))
      texts.set(
        code,
        new NotFoundError(
          { status: 404, method: 'GET', url: '/cif/multiple', service: 'icsd' },
          `No ICSD entry with collection code ${code}`,
        ),
      );
  }
  return texts;
}
