import { ResponseValidationError, UsageError } from '@sciport/core';
import { describe, expect, it } from 'vitest';
import { checkDocument, cifFileName, splitCifs } from '../src/schemas/cif.js';
import { parseCsv, parseMeasured } from '../src/schemas/csv.js';
import {
  CSV_PROPERTIES,
  CSV_PROPERTY_KEYS,
  findCsvProperty,
  findExpertField,
} from '../src/schemas/fields.js';
import { buildExpertQuery, checkExpertQuery } from '../src/schemas/query.js';
import { parseSearchBody } from '../src/schemas/search.js';

function cif(cc: number, year = 2026, eol = '\n', extra = ''): string {
  return [
    '',
    `#(C) ${year} by FIZ Karlsruhe - Leibniz Institute for Information Infrastructure.  All rights reserved.`,
    `data_${cc}-ICSD`,
    `_database_code_ICSD ${cc}`,
    "_chemical_name_systematic 'Lithium iron oxide'",
    extra,
    '_cell_length_a 4.0512(3)',
    `#End of TTdata_${cc}-ICSD`,
    '',
  ].join(eol);
}

describe('splitCifs', () => {
  it('splits concatenated documents losslessly, each exactly as sent', () => {
    const docs = [
      cif(86351, 2018),
      cif(71031, 2025, '\n', "_citation_title\n;\nÅngström's (C) 2021 by FIZ Karlsruhe\n;"),
      cif(5, 2026),
    ];
    const body = docs.join('');
    const split = splitCifs(body, 'GET /cif/multiple');
    expect(split.map((d) => d.collectionCode)).toEqual([86351, 71031, 5]);
    expect(split.map((d) => d.text)).toEqual(docs);
    expect(split.map((d) => d.text).join('')).toBe(body);
  });

  it('does not depend on the copyright year or wording', () => {
    const odd = cif(12, 2031).replace('by FIZ Karlsruhe - Leibniz', 'by FIZ Karlsruhe GmbH -');
    const split = splitCifs(odd + cif(13, 1999), 'x');
    expect(split.map((d) => d.collectionCode)).toEqual([12, 13]);
    expect(split[0]?.text).toBe(odd);
  });

  it('handles CRLF documents', () => {
    const docs = [cif(1, 2026, '\r\n'), cif(2, 2026, '\r\n')];
    const split = splitCifs(docs.join(''), 'x');
    expect(split.map((d) => d.text)).toEqual(docs);
  });

  it('reports a document cut short', () => {
    const body = cif(1) + cif(2).slice(0, 60);
    expect(() => splitCifs(body, 'GET /cif/multiple')).toThrow(ResponseValidationError);
  });

  it('reports an end line that names another code, and an error page', () => {
    expect(() =>
      checkDocument(cif(7).replace('#End of TTdata_7-ICSD', '#End of TTdata_8-ICSD'), 'x'),
    ).toThrow(/does not name 8/);
    expect(() => splitCifs('<html><body>Internal error</body></html>', 'x')).toThrow(ResponseValidationError);
    expect(splitCifs('', 'x')).toEqual([]);
  });

  it('names files by six-digit collection code', () => {
    expect(cifFileName(86351)).toBe('icsd_086351.cif');
    expect(cifFileName(5)).toBe('icsd_000005.cif');
    expect(cifFileName(1234567)).toBe('icsd_1234567.cif');
  });
});

describe('parseSearchBody', () => {
  it('reads JSON with string or number ids', () => {
    expect(parseSearchBody('{"idnums": ["1975", "3153", 1396]}', 'x')).toEqual([1975, 3153, 1396]);
    expect(parseSearchBody('{"idnums": []}', 'x')).toEqual([]);
  });

  it('reads the single-line XML, empty forms and extra whitespace', () => {
    expect(
      parseSearchBody(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hits><idnums>1975 3153 1396</idnums></hits>',
        'x',
      ),
    ).toEqual([1975, 3153, 1396]);
    expect(parseSearchBody('<hits><idnums>\n 1 \n 2\n</idnums><count>2</count></hits>', 'x')).toEqual([1, 2]);
    expect(parseSearchBody('<hits><idnums></idnums></hits>', 'x')).toEqual([]);
    expect(parseSearchBody('<hits><idnums/></hits>', 'x')).toEqual([]);
  });

  it('refuses bodies that are not search answers', () => {
    expect(() => parseSearchBody('token expired', 'GET /search/expert')).toThrow(/no <idnums> element/);
    expect(() => parseSearchBody('{"idnums": ["12a"]}', 'x')).toThrow(ResponseValidationError);
    expect(() => parseSearchBody('<hits><idnums>1 two</idnums></hits>', 'x')).toThrow(/not a decimal id/);
  });
});

describe('parseCsv', () => {
  const header = 'CollectionCode\tStructuredFormula\tAuthors\tCellParameter\tCellVolume\tPublicationYear\t';

  it('maps columns by header name, keeps UTF-8, handles trailing tabs and CRLF', () => {
    const body = [
      'StructuredFormula\tCollectionCode\tAuthors\t',
      'Li Fe O2\t86351\tMüller, K.;Ångström, A.\t',
      'Co O\t8\t\t',
      '',
    ].join('\r\n');
    const parsed = parseCsv(body, 'GET /csv');
    expect(parsed.columns).toEqual(['StructuredFormula', 'CollectionCode', 'Authors']);
    expect(parsed.rows).toEqual([
      {
        collectionCode: 86351,
        structuredFormula: 'Li Fe O2',
        authors: ['Müller, K.', 'Ångström, A.'],
        raw: { StructuredFormula: 'Li Fe O2', CollectionCode: '86351', Authors: 'Müller, K.;Ångström, A.' },
      },
      {
        collectionCode: 8,
        structuredFormula: 'Co O',
        authors: [],
        raw: { StructuredFormula: 'Co O', CollectionCode: '8', Authors: '' },
      },
    ]);
  });

  it('types numbers with uncertainties and cell parameters', () => {
    const body = `${header}\n19\tNa F\tA\t4.6342(2) 4.6342(2) 4.6342(2) 90. 90 90.000\t99.52(1)\t1998\t\n`;
    const row = parseCsv(body, 'x').rows[0] as Record<string, unknown>;
    expect(row.cellVolume).toEqual({ value: 99.52, uncertainty: 0.01, text: '99.52(1)' });
    expect(row.publicationYear).toBe(1998);
    expect(row.raw).toMatchObject({ CellVolume: '99.52(1)', PublicationYear: '1998' });
    const cell = row.cellParameter as Record<string, { value: number; uncertainty?: number }>;
    expect(cell.a).toEqual({ value: 4.6342, uncertainty: 0.0002, text: '4.6342(2)' });
    expect(cell.alpha?.value).toBe(90);
    expect(cell.gamma?.uncertainty).toBeUndefined();
  });

  it('accepts the American spelling of the standardised cell and any header case', () => {
    const parsed = parseCsv('collectioncode\tStandardizedCellParameter\t\n1\t\t\n', 'x');
    expect(parsed.columns).toEqual(['CollectionCode', 'StandardisedCellParameter']);
    expect(parsed.rows[0]).toMatchObject({
      collectionCode: 1,
      standardisedCellParameter: null,
      raw: { collectioncode: '1', StandardizedCellParameter: '' },
    });
  });

  it('refuses malformed answers with the line named', () => {
    // An empty body is an answer without rows (the ids asked for are then reported as missing).
    expect(parseCsv('', 'x').rows).toEqual([]);
    expect(() => parseCsv('Foo\t\n1\t\n', 'x')).toThrow(/unknown column "Foo"/);
    expect(() => parseCsv('StructuredFormula\t\nLi\t\n', 'x')).toThrow(/no CollectionCode column/);
    expect(() => parseCsv('CollectionCode\tPublicationYear\t\n12\tlast year\t\n', 'x')).toThrow(
      /line 2\.PublicationYear: expected a whole number/,
    );
    expect(() => parseCsv('CollectionCode\t\n1\t2\t3\t\n', 'x')).toThrow(/3 cells for 1 columns/);
  });

  it('parses measured numbers', () => {
    expect(parseMeasured('0.38988(1)')).toEqual({ value: 0.38988, uncertainty: 0.00001, text: '0.38988(1)' });
    expect(parseMeasured('12(3)')).toEqual({ value: 12, uncertainty: 3, text: '12(3)' });
    expect(parseMeasured('1.5e-3')?.value).toBe(0.0015);
    expect(parseMeasured('n/a')).toBeUndefined();
  });
});

describe('expert queries', () => {
  it('builds a typed query joined with and', () => {
    expect(buildExpertQuery({ composition: 'Li O', spaceGroupNumber: 225, collectionCode: [1, 5000] })).toBe(
      'COMPOSITION : Li O and SPACEGROUPNUMBER : 225 and COLLECTIONCODE : 1-5000',
    );
    expect(
      buildExpertQuery(
        { numberOfElements: { min: 2, max: 3 }, collectionCode: { anyOf: [5, 9] } },
        { operator: 'or' },
      ),
    ).toBe('NUMBEROFELEMENTS : 2-3 or COLLECTIONCODE : 5,9');
  });

  it('leaves out null values without touching the object', () => {
    const query = Object.freeze({ composition: 'Fe', mineralName: null, journal: undefined });
    expect(buildExpertQuery(query)).toBe('COMPOSITION : Fe');
  });

  it('refuses unknown fields, naming the closest ones', () => {
    expect(() => buildExpertQuery({ spaceGroupNo: 225 } as never)).toThrow(
      /Unknown ICSD search field "spaceGroupNo"; did you mean "spaceGroupNumber"/,
    );
    expect(() => checkExpertQuery('COMPOSITON : Li')).toThrow(/did you mean "composition"/);
    expect(() => checkExpertQuery('xyz : 1')).toThrow(UsageError);
  });

  it('refuses values the language cannot carry', () => {
    expect(() => buildExpertQuery({ chemicalName: 'salt and pepper' })).toThrow(/"and" or "or"/);
    expect(() => buildExpertQuery({ spaceGroupNumber: 22.5 })).toThrow(UsageError);
    expect(() => buildExpertQuery({ sampleType: 'liquid' })).toThrow(/powder, singlecrystal/);
    expect(() => buildExpertQuery({})).toThrow(/no field/);
    expect(() => checkExpertQuery('COMPOSITION Li')).toThrow(/FIELD : value/);
  });

  it('accepts raw queries with any case and spacing', () => {
    expect(checkExpertQuery('  numberofelements: 1 AND composition : Fe ')).toBe(
      'numberofelements: 1 AND composition : Fe',
    );
    expect(checkExpertQuery('COMPOSITION : Li:1:2 O')).toBe('COMPOSITION : Li:1:2 O');
  });

  it('gives every CSV property a camelCase row key, one each', () => {
    const keys = CSV_PROPERTIES.map((p) => CSV_PROPERTY_KEYS[p]);
    expect(new Set(keys).size).toBe(CSV_PROPERTIES.length);
    for (const [property, key] of Object.entries(CSV_PROPERTY_KEYS)) {
      expect(key).toMatch(/^[a-z][A-Za-z]*$/);
      expect(key.toLowerCase()).toBe(property.toLowerCase());
    }
    expect(CSV_PROPERTY_KEYS.RValue).toBe('rValue');
    expect(CSV_PROPERTY_KEYS.ANXFormula).toBe('anxFormula');
  });

  it('knows every field by API name and key', () => {
    expect(findExpertField('SPACEGROUPNUMBER')?.key).toBe('spaceGroupNumber');
    expect(findExpertField('space_group_number')?.field).toBe('SPACEGROUPNUMBER');
    expect(findCsvProperty('standardizedcellparameter')).toBe('StandardisedCellParameter');
  });
});
