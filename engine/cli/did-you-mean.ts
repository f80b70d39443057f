/** Edit distance (insert, delete, substitute, swap of neighbours), for "did you mean". */
export function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate within a third of the word's length (at least 1, at most 3 edits), or null. */
export function closest(word: string, candidates: readonly string[]): string | null {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = distance(word, c);
    if (dist < bestD || (dist === bestD && best !== null && c < best)) [best, bestD] = [c, dist];
  }
  if (best !== null && word.length > 2 && best.startsWith(word)) return best; // a prefix: `roam dep` → deploy
  return bestD <= limit ? best : null;
}

/** ` (did you mean 'x'?)`, or ''. */
export const suggestion = (word: string, candidates: readonly string[]): string => {
  const c = closest(word, candidates);
  return c ? ` (did you mean '${c}'?)` : '';
};
