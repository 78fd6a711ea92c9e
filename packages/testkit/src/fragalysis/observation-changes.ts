import type { FragalysisSimObservation, FragalysisSimTarget } from './fragalysis-simulator.js';

/**
 * Changes to a target's observations as a new XCA upload makes them (spec §11.3): a re-processed observation is
 * a new row (new `id`, higher `version`, its files under the new upload's folder) that hides the old one; new
 * observations get the next codes; removed ones disappear from the list. Each change is one new upload.
 */

/** The highest observation id handed out so far, per simulator (its list of targets). */
const lastIds = new WeakMap<readonly FragalysisSimTarget[], number>();

function nextId(targets: readonly FragalysisSimTarget[]): number {
  let last = lastIds.get(targets) ?? 0;
  for (const t of targets) for (const o of t.observations) last = Math.max(last, o.id);
  last += 1;
  lastIds.set(targets, last);
  return last;
}

function bumpUpload(target: FragalysisSimTarget, now: number): number {
  const version = target.uploads.length + 1;
  target.uploads.push({ version, at: new Date(now).toISOString(), committer: 'uploader' });
  return version;
}

/** Picks codes: the given ones (each must exist), or the first `count` observations spread over the target. */
function pick(target: FragalysisSimTarget, which: number | readonly string[]): FragalysisSimObservation[] {
  if (typeof which !== 'number') {
    return which.map((code) => {
      const o = target.observations.find((x) => x.code === code);
      if (!o) throw new RangeError(`no observation ${code} in ${target.title} ${target.tas}`);
      return o;
    });
  }
  const all = target.observations;
  if (which < 0 || which > all.length) throw new RangeError(`${target.title} has ${all.length} observations`);
  const step = which === 0 ? 1 : all.length / which;
  return Array.from({ length: which }, (_, i) => all[Math.floor(i * step)] as FragalysisSimObservation);
}

/** Re-processes observations in a new upload; returns their codes. */
export function reprocessObservations(
  targets: readonly FragalysisSimTarget[],
  target: FragalysisSimTarget,
  which: number | readonly string[],
  now: number,
): string[] {
  const chosen = pick(target, which);
  const upload = bumpUpload(target, now);
  for (const o of chosen) {
    const i = target.observations.indexOf(o);
    target.observations[i] = { ...o, id: nextId(targets), version: (o.version ?? 1) + 1, upload };
  }
  return chosen.map((o) => o.code);
}

/** Adds `count` observations (each its own crystal) in a new upload; returns their codes. */
export function addObservations(
  targets: readonly FragalysisSimTarget[],
  target: FragalysisSimTarget,
  count: number,
  now: number,
): string[] {
  const upload = bumpUpload(target, now);
  const numbers = target.observations.map((o) => Number(/^A(\d+)/.exec(o.code)?.[1] ?? 0));
  let n = numbers.length ? Math.max(...numbers) : 0;
  const codes: string[] = [];
  const template = target.observations[0];
  for (let i = 0; i < count; i++) {
    n += 1;
    const num = String(n).padStart(4, '0');
    const xtal = `${target.title}-x${num}`;
    const code = `A${num}a`;
    target.observations.push({
      id: nextId(targets),
      code,
      longcode: `${xtal}_A_${300 + n}_1_${xtal}+A+${300 + n}+1`,
      xtal,
      compoundCode: `Z${100000 + target.id * 10000 + n}`,
      smiles: template?.smiles ?? 'c1ccccc1',
      hasEventMap: n % 4 !== 0,
      version: 1,
      upload,
    });
    codes.push(code);
  }
  return codes;
}

/** Removes observations (as a new upload that no longer has them). */
export function removeObservations(target: FragalysisSimTarget, codes: readonly string[], now: number): void {
  const chosen = pick(target, codes);
  bumpUpload(target, now);
  for (const o of chosen) target.observations.splice(target.observations.indexOf(o), 1);
}
