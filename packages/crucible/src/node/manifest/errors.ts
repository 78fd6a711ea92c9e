import { UsageError } from '@sciport/core';

/** One thing wrong with a manifest, and where (1-based line and column; 0 when the whole file is meant). */
export interface ManifestProblem {
  file: string;
  line: number;
  column: number;
  /**
   * The manifest key concerned, when there is one (`colour`, `samples`, `metadata`). Named `field`, not `key`:
   * error output redacts anything called `key`.
   */
  field?: string | undefined;
  message: string;
}

/** `manifest.yaml:7:5: unknown key "colour" …`, the form editors and terminals link to. */
export function formatProblem(p: ManifestProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}:${p.column}: ${p.message}` : `${p.file}: ${p.message}`;
}

/**
 * A manifest that cannot be applied: every problem found, each with its line. Thrown before the first write
 * (nothing was created). A usage error: the CLI exits 2.
 */
export class ManifestError extends UsageError {
  static override readonly kind: string = 'ManifestError';
  readonly file: string;
  readonly problems: readonly ManifestProblem[];

  constructor(file: string, problems: readonly ManifestProblem[]) {
    const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
    const shown = sorted.slice(0, 20).map(formatProblem);
    if (sorted.length > shown.length) shown.push(`… and ${sorted.length - shown.length} more`);
    super(
      sorted.length === 1
        ? `Invalid manifest, nothing was changed: ${shown[0]}`
        : `Invalid manifest (${sorted.length} problems), nothing was changed:\n${shown.join('\n')}`,
    );
    this.file = file;
    this.problems = sorted;
  }
}
