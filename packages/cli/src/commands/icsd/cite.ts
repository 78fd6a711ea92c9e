import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import { writeFileAtomic } from '@sciport/core/node';
import { type Citation, formatBibtex, formatRis, toCslJson } from '@sciport/icsd';
import { type Command, Option } from 'commander';
import { ExitCode, ExitError } from '../../exit-codes.js';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { missingCodesText, parseNumbers } from './fetch.js';
import { type ConnectionOptions, connectionOptions, makeClient } from './shared.js';

type CiteFormat = 'bibtex' | 'ris' | 'csl-json';

/** The document of a format: text for BibTeX and RIS, the item array for CSL-JSON. */
function render(citations: Citation[], format: CiteFormat): { text: string; document: unknown } {
  if (format === 'csl-json') {
    const items = toCslJson(citations);
    return { text: `${JSON.stringify(items, null, 2)}\n`, document: items };
  }
  const text = format === 'ris' ? formatRis(citations) : formatBibtex(citations);
  return { text, document: text };
}

/** `--out FILE`: a file (made or replaced), never a folder. */
async function checkOutFile(value: string): Promise<string> {
  const resolved = path.resolve(value);
  const info = await stat(resolved).catch(() => undefined);
  if (info?.isDirectory()) throw new UsageError(`--out ${value} is a folder; give a file name`);
  return resolved;
}

/**
 * `sciport icsd cite <code...> [--format bibtex|ris|csl-json] [--out FILE]`: references of collection codes
 * from the service's CSV properties, on stdout or in a file written atomically. Codes that do not exist are
 * reported on stderr (and in `--json`); exit 4 only when none of the codes exists.
 */
export function registerCite(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent
      .command('cite')
      .description('references of collection codes as BibTeX, RIS or CSL-JSON (keys icsd<code>)')
      .argument('<code...>', 'ICSD collection codes ("ICSD 1975" is 1975)')
      .addOption(
        new Option('--format <format>', 'output format')
          .choices(['bibtex', 'ris', 'csl-json'])
          .default('bibtex'),
      )
      .option('--out <file>', 'write to this file (atomically) instead of stdout'),
  ).action(
    action(async (ctx, args: string[], options: ConnectionOptions & { format: CiteFormat; out?: string }) => {
      const codes = parseNumbers(args, 'collection code');
      const out = options.out === undefined ? undefined : await checkOutFile(options.out);
      const client = await makeClient(ctx, options);
      const result = await client.entries.cite(codes, { signal: ctx.signal });
      const asked = new Set(codes).size;
      const missing = result.missingCodes;
      const found = result.citations.length > 0;
      const { text, document } = render(result.citations, options.format);
      if (found && out) await writeFileAtomic(out, text, { signal: ctx.signal });
      if (ctx.json) {
        printJson(ctx.out, {
          format: options.format,
          citations: result.citations.length,
          missingCodes: missing,
          doiAvailable: result.doiAvailable,
          out: found && out ? out : null,
          document: found && !out ? document : null,
        });
      } else {
        if (found && !out) ctx.out.write(text);
        info(
          ctx,
          `${result.citations.length} ${result.citations.length === 1 ? 'reference' : 'references'}` +
            `${found && out ? ` written to ${out}` : ''}${missing.length > 0 ? `, ${missing.length} not found` : ''}`,
        );
      }
      // Codes that do not exist are named by the client's warning and in --json; only none found fails.
      if (!found) throw new ExitError(ExitCode.NotFound, missingCodesText(missing, asked));
    }),
  );
}
