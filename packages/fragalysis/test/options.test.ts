import { UsageError } from '@sciport/core';
import { describe, expect, it } from 'vitest';
import { resolveStack, STACKS } from '../src/credentials.js';
import { FragalysisClient } from '../src/index.js';
import { ARCHIVE_FLAGS, archiveRequestBody, legacyFieldNames } from '../src/schemas/download-options.js';

describe('archiveRequestBody', () => {
  it("sends every field, with the web dialog's defaults", () => {
    const body = archiveRequestBody('Mpro', 'lb18145-1');
    expect(body).toMatchObject({
      target_name: 'Mpro',
      target_access_string: 'lb18145-1',
      proteins: '',
      file_url: '',
      all_aligned_structures: true,
      metadata_info: true,
      single_sdf_file: true,
      event_file: false,
      map_info: false,
      pdb_info: false,
      compound_sets: true,
      soakdb_files: true,
      yaml_files: true,
      extra_files: true,
      pymol_scripts: true,
      readme: true,
      use_zip: false,
      static_link: false,
    });
    // Every flag is explicit (a missing boolean in a form body would be false on the server).
    for (const [, wire] of ARCHIVE_FLAGS) expect(typeof body[wire]).toBe('boolean');
    expect(Object.keys(body)).toHaveLength(ARCHIVE_FLAGS.length + 4);
  });

  it('maps options and observation lists', () => {
    const body = archiveRequestBody('A71EV2A', 'lb32627-66', {
      proteins: ['A0001a', ' A0002a ', 'A0001a'],
      eventFile: true,
      readme: false,
      useZip: true,
    });
    expect(body).toMatchObject({ proteins: 'A0001a,A0002a', event_file: true, readme: false, use_zip: true });
    expect(archiveRequestBody('x', 'y', { proteins: 'A1,B2' }).proteins).toBe('A1,B2');
  });

  it('refuses what the server would refuse or misread', () => {
    expect(() => archiveRequestBody('', 'tas')).toThrow(UsageError);
    expect(() => archiveRequestBody('Mpro', ' ')).toThrow(/target access string/);
    expect(() => archiveRequestBody('Mpro', 'x', { proteins: ['A0001a; DROP'] })).toThrow(
      /Not an observation code/,
    );
    expect(() =>
      archiveRequestBody('Mpro', 'x', { proteins: Array.from({ length: 900 }, (_, i) => `A${i}aaaa`) }),
    ).toThrow(/at most 5000/);
    expect(() => archiveRequestBody('Mpro', 'x', { eventFile: 'yes' as never })).toThrow(/true or false/);
    expect(() => archiveRequestBody('Mpro', 'x', { eventFiles: true } as never)).toThrow(
      /Unknown download option/,
    );
  });
});

describe('legacyFieldNames', () => {
  it("adds the v1 stack's names for the aligned, event, 2FoFc and FoFc files", () => {
    const body = archiveRequestBody('Mpro', 'lb18145-1', { eventFile: true, diffFile: true });
    expect(legacyFieldNames(body)).toEqual({
      bound_info: true,
      event_info: true,
      sigmaa_info: false,
      diff_info: true,
    });
    const none = archiveRequestBody('Mpro', 'lb18145-1', { allAlignedStructures: false });
    expect(legacyFieldNames(none).bound_info).toBe(false);
  });
});

describe('resolveStack', () => {
  it('knows the stacks by name and takes URLs without a trailing slash', () => {
    expect(resolveStack('production')).toBe(STACKS.production);
    expect(resolveStack('staging')).toBe('https://fragalysis.xchem.diamond.ac.uk');
    expect(resolveStack('https://fragalysis-me-dev.xchem-dev.diamond.ac.uk/')).toBe(
      'https://fragalysis-me-dev.xchem-dev.diamond.ac.uk',
    );
    expect(resolveStack('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(resolveStack(' Legacy ')).toBe(STACKS.legacy);
    expect(resolveStack('fragalysis-me-dev.xchem-dev.diamond.ac.uk')).toBe(
      'https://fragalysis-me-dev.xchem-dev.diamond.ac.uk',
    );
    expect(() => resolveStack('prod')).toThrow(UsageError);
    expect(() => resolveStack('toString')).toThrow(UsageError);
    expect(() => resolveStack('ftp://x')).toThrow(UsageError);
  });
});

describe('stack and baseUrl', () => {
  it('resolves a stack name or URL to baseUrl, takes baseUrl itself, and refuses two different ones', () => {
    expect(new FragalysisClient({ stack: 'staging' }).baseUrl).toBe(STACKS.staging);
    expect(new FragalysisClient({ baseUrl: 'http://127.0.0.1:8080/' }).baseUrl).toBe('http://127.0.0.1:8080');
    expect(new FragalysisClient({ stack: 'legacy', baseUrl: `${STACKS.legacy}/` }).baseUrl).toBe(
      STACKS.legacy,
    );
    expect(() => new FragalysisClient({ stack: 'staging', baseUrl: STACKS.production })).toThrow(UsageError);
    expect(() => new FragalysisClient({ baseUrl: 'staging' })).toThrow(UsageError);
  });

  it('falls back to FRAGALYSIS_STACK, then production', () => {
    const saved = process.env.FRAGALYSIS_STACK;
    try {
      process.env.FRAGALYSIS_STACK = 'staging';
      expect(new FragalysisClient().baseUrl).toBe(STACKS.staging);
      delete process.env.FRAGALYSIS_STACK;
      expect(new FragalysisClient().baseUrl).toBe(STACKS.production);
    } finally {
      if (saved === undefined) delete process.env.FRAGALYSIS_STACK;
      else process.env.FRAGALYSIS_STACK = saved;
    }
  });
});
