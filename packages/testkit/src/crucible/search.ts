/**
 * The name search of the simulated Crucible (spec §19.2): fuzzy, typo-tolerant, best first. The live server's
 * ranking is [I]; this one is simple and deterministic: an exact name beats a prefix, a prefix beats a word
 * that starts with the text, that beats a substring, and that beats a match with a typo or two (edit
 * distance against the best window of the name). Ties keep the order the candidates came in.
 */

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function distance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** How well `name` matches the (lower-cased, trimmed) query: higher is better, `0` no match. */
export function fuzzyScore(query: string, name: string | null | undefined): number {
  const n = (name ?? '').toLowerCase();
  const q = query.toLowerCase();
  if (!n || !q) return 0;
  if (n === q) return 1;
  if (n.startsWith(q)) return 0.9;
  if (n.split(/[^a-z0-9]+/).some((w) => w.startsWith(q))) return 0.85;
  if (n.includes(q)) return 0.8;
  // Typos: the best window of the name around the query's length.
  const allowed = q.length >= 8 ? 2 : q.length >= 4 ? 1 : 0;
  if (allowed === 0) return 0;
  let best = Number.POSITIVE_INFINITY;
  for (let len = Math.max(1, q.length - allowed); len <= q.length + allowed; len++) {
    for (let start = 0; start + len <= n.length; start++) {
      best = Math.min(best, distance(q, n.slice(start, start + len)));
      if (best === 1 && allowed === 1) break;
    }
  }
  return best <= allowed ? 0.6 - 0.1 * best : 0;
}

/** The candidates that match, best first (ties in the order given), at most `limit`, and how many matched. */
export function rankByName<T>(
  candidates: Iterable<T>,
  names: (item: T) => ReadonlyArray<string | null | undefined>,
  query: string,
  limit: number,
): { items: T[]; total: number } {
  const scored: Array<{ item: T; score: number; order: number }> = [];
  let order = 0;
  for (const item of candidates) {
    const score = Math.max(0, ...names(item).map((name) => fuzzyScore(query, name)));
    if (score > 0) scored.push({ item, score, order: order++ });
  }
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return { items: scored.slice(0, limit).map((s) => s.item), total: scored.length };
}
