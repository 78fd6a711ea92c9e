/**
 * "Did you mean …?" for names a user types (config keys, fields): the candidates within a small edit distance
 * (optimal string alignment: insertions, deletions, substitutions, swaps of neighbours), ignoring case, best
 * first; a candidate whose last dotted segment is the word itself (`username` → `icsd.username`) counts too.
 * A candidate is close enough within an edit distance of 40% of its length (at least 1).
 */
export function suggestSimilar(word: string, candidates: Iterable<string>, limit = 3): string[] {
  const typed = word.toLowerCase();
  if (typed === '') return [];
  const scored: { name: string; distance: number }[] = [];
  for (const name of new Set(candidates)) {
    if (name === word) continue;
    const lower = name.toLowerCase();
    const last = lower.slice(lower.lastIndexOf('.') + 1);
    const distance = lower === typed ? 0 : last === typed ? 0.5 : editDistance(typed, lower);
    if (distance <= Math.max(1, Math.floor(Math.max(typed.length, lower.length) * 0.4))) {
      scored.push({ name, distance });
    }
  }
  scored.sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name));
  const best = scored[0]?.distance ?? 0;
  return scored
    .filter((s) => s.distance <= best + 1)
    .slice(0, limit)
    .map((s) => s.name);
}

/** Optimal string alignment distance between two strings. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    const row = d[i] as number[];
    const above = d[i - 1] as number[];
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}
