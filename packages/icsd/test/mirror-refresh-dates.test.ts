import { ResponseValidationError } from '@sciport/core';
import { describe, expect, it } from 'vitest';
import { addDays, cifModificationDay, isoDay } from '../src/node/cif-dates.js';
import { IdSet } from '../src/node/id-set.js';
import type { JournalState } from '../src/node/journal.js';
import { parseDatesCsv, sinceDay } from '../src/node/refresh.js';

const cif = (...lines: string[]) =>
  Buffer.from(
    [
      '',
      '#(C) 2026 by FIZ Karlsruhe',
      'data_1975-ICSD',
      '_database_code_ICSD 1975',
      ...lines,
      '#End of TTdata_1975-ICSD',
      '',
    ].join('\n'),
  );

describe('modification dates from CIF bytes', () => {
  it('prefers _audit_update_record and falls back to _audit_creation_date', () => {
    expect(
      cifModificationDay(cif('_audit_creation_date 2001-02-03', "_audit_update_record '2019-04-01 updated'")),
    ).toBe(20190401);
    expect(cifModificationDay(cif('_audit_creation_date 2001-02-03'))).toBe(20010203);
    expect(cifModificationDay(cif('_chemical_name_systematic x'))).toBe(0);
  });

  it('reads other date shapes, a value on the next line and a text field (the latest date wins)', () => {
    expect(
      cifModificationDay(cif('_audit_creation_date 1980/01/01', '_audit_update_record 2006/04/01')),
    ).toBe(20060401);
    expect(
      cifModificationDay(cif('_audit_update_record', ';', '2003-01-01 first', '2011-07-15 second', ';')),
    ).toBe(20110715);
    expect(cifModificationDay(cif('_audit_update_record', '2012-12-12'))).toBe(20121212);
    // An impossible date is no date: the creation date is used.
    expect(
      cifModificationDay(cif('_audit_creation_date 2001-02-03', '_audit_update_record 2019-02-30')),
    ).toBe(20010203);
  });

  it('reads a view into a larger buffer without looking outside it', () => {
    const a = cif('_audit_creation_date 2001-02-03');
    const b = cif('_audit_creation_date 1999-09-09', "_audit_update_record '2024-01-02'");
    const body = new Uint8Array(Buffer.concat([a, b]));
    expect(cifModificationDay(body.subarray(0, a.length))).toBe(20010203);
    expect(cifModificationDay(body.subarray(a.length))).toBe(20240102);
  });

  it('does day arithmetic across months and years', () => {
    expect(addDays(20260301, -1)).toBe(20260228);
    expect(addDays(20241231, 1)).toBe(20250101);
    expect(isoDay(20250102)).toBe('2025-01-02');
    expect(isoDay(0)).toBeNull();
  });
});

describe('/csv dates', () => {
  it('keys rows by collection code, columns by header name, LF or CRLF', () => {
    expect(parseDatesCsv('ModificationDate\tCollectionCode\t\r\n2019-04-01\t8\t\r\n\t19\t\r\n')).toEqual([
      [8, 20190401],
      [19, 0],
    ]);
  });

  it('refuses a header without the columns, a code that is no entry number, a cell that is no date', () => {
    expect(() => parseDatesCsv('CollectionCode\t\n8\t\n')).toThrow(ResponseValidationError);
    expect(() => parseDatesCsv('CollectionCode\tModificationDate\t\n0\t2019-04-01\t\n')).toThrow(
      ResponseValidationError,
    );
    expect(() => parseDatesCsv('CollectionCode\tModificationDate\t\n8\tyesterday\t\n')).toThrow(
      ResponseValidationError,
    );
  });
});

describe('the first day searched', () => {
  const state = (batches: Array<{ codes: number[]; day: number }>, synced: JournalState['synced'] = []) =>
    ({
      cellType: 'experimental',
      doneIds: new IdSet(),
      codes: new IdSet(),
      badIds: new IdSet(),
      bytes: 0,
      batches: batches.map((b) => ({
        ids: Int32Array.from(b.codes),
        codes: Int32Array.from(b.codes),
        sizes: undefined,
        dates: undefined,
        day: b.day,
      })),
      synced,
    }) satisfies JournalState;
  const all = ['A', 'B', 'C'];

  it('is the day before the oldest batch of the range, or the start of a covering refresh', () => {
    const s = state([
      { codes: [1, 2], day: 20250110 },
      { codes: [500], day: 20250101 },
      { codes: [3], day: 20250301 },
    ]);
    expect(sinceDay(s, 3, 1, 100, all)).toBe(20250109);
    expect(sinceDay(s, 3, 1, 1000, all)).toBe(20241231);
    expect(sinceDay(s, 3, 2000, 3000, all)).toBeUndefined();
    const refreshed = state(
      s.batches.map((b) => ({ codes: [...b.codes], day: b.day })),
      [{ date: '2025-06-01', from: 1, to: 1000, contentTypes: all }],
    );
    expect(sinceDay(refreshed, 3, 1, 1000, all)).toBe(20250601);
    // A refresh of fewer subsets, or of a smaller range, does not cover the entries outside it.
    const partial = state(
      s.batches.map((b) => ({ codes: [...b.codes], day: b.day })),
      [{ date: '2025-06-01', from: 1, to: 100, contentTypes: ['A'] }],
    );
    expect(sinceDay(partial, 3, 1, 100, all)).toBe(20250109);
    expect(sinceDay(partial, 3, 1, 100, ['A'])).toBe(20250601);
    expect(sinceDay(partial, 3, 1, 1000, ['A'])).toBe(20241231);
  });
});
