import { describe, expect, it } from 'vitest';
import { extractPrograms, where } from './examples.js';

const doc = [
  '# Title', // 1
  '', // 2
  '```sh', // 3
  'npm i x', // 4
  '```', // 5
  '', // 6
  '```ts', // 7
  "import { a } from 'a';", // 8
  'const b = a();', // 9
  '```', // 10
  '', // 11
  '<!-- files: scan.h5 run.dat -->', // 12
  '```typescript', // 13
  'await b.upload("scan.h5");', // 14
  '```', // 15
  '', // 16
  '<!-- no-run -->', // 17
  '', // 18
  '```ts', // 19
  'fragment(', // 20
  '```', // 21
].join('\n');

describe('extractPrograms', () => {
  it('makes one program per block, keeping the document’s line numbers', () => {
    const programs = extractPrograms('README.md', doc, 'block');
    expect(programs.map(where)).toEqual(['README.md:7', 'README.md:13']);
    const [first, second] = programs;
    expect(first?.code.split('\n')).toEqual([
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      "import { a } from 'a';",
      'const b = a();',
    ]);
    expect(first?.files).toEqual([]);
    expect(second?.code.split('\n')[13]).toBe('await b.upload("scan.h5");');
    expect(second?.code.split('\n').slice(0, 13).join('')).toBe('');
    expect(second?.files).toEqual(['scan.h5', 'run.dat']);
  });

  it('makes one program of a page, in order, without the blocks marked no-run', () => {
    const [page, ...rest] = extractPrograms('docs/guide/x.md', doc, 'page');
    expect(rest).toEqual([]);
    expect(page && where(page)).toBe('docs/guide/x.md:7,13');
    const lines = page?.code.split('\n') ?? [];
    expect(lines).toHaveLength(14);
    expect(lines[7]).toBe("import { a } from 'a';");
    expect(lines[13]).toBe('await b.upload("scan.h5");');
    expect(page?.code).not.toContain('fragment(');
    expect(page?.code).not.toContain('npm i x');
  });

  it('finds nothing in a document without TypeScript blocks, and refuses an unclosed one', () => {
    expect(extractPrograms('a.md', '# a\n\n```sh\nls\n```\n', 'page')).toEqual([]);
    expect(() => extractPrograms('a.md', '```ts\nconst a = 1;\n', 'block')).toThrow(/line 1 is never closed/);
  });
});
