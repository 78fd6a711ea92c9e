/**
 * "Did you mean" for names a user typed (a target title): the known names nearest to it. Local to this package
 * (core has no suggestion helper on this branch; a shared one can replace it later).
 */

/** The edit distance between `a` and `b` (insertions, deletions, substitutions), compared case-insensitively. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = current;
  }
  return previous[y.length] as number;
}

/**
 * The candidates nearest to `input`, best first, at most `limit`: those equal to it but for case first, then those
 * within an edit distance of a third of its length (at least 1, at most 3). The input itself is never suggested.
 */
export function suggestSimilar(input: string, candidates: Iterable<string>, limit = 3): string[] {
  const max = Math.min(3, Math.max(1, Math.floor(input.length / 3)));
  const scored: Array<[string, number]> = [];
  for (const candidate of new Set(candidates)) {
    if (candidate === input) continue;
    const d = candidate.toLowerCase() === input.toLowerCase() ? 0 : distance(input, candidate);
    if (d <= max) scored.push([candidate, d]);
  }
  return scored
    .sort(([a, da], [b, db]) => da - db || a.localeCompare(b))
    .slice(0, limit)
    .map(([c]) => c);
}
