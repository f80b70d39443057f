// "Did you mean" for commands and flags. Plain JS: bin/roam.js answers a mistyped command before tsx loads.

/** Edit distance (insert, delete, substitute, swap of neighbours). */
export function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2][j - 2] + 1);
      d[i][j] = v;
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate: a longer word it starts (3+ letters), or one within a third of its length (1–3 edits); else null. */
export function closest(word, candidates) {
  if (word.length >= 3) {
    const prefixed = candidates.filter((c) => c.startsWith(word));
    if (prefixed.length === 1) return prefixed[0];
  }
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = distance(word, c);
    if (dist < bestD) [best, bestD] = [c, dist];
  }
  return bestD <= limit ? best : null;
}

/** ` (did you mean 'x'?)`, or ''. */
export const suggestion = (word, candidates) => {
  const c = closest(word, candidates);
  return c ? ` (did you mean '${c}'?)` : '';
};
