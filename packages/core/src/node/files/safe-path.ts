import path from 'node:path';
import { UsageError } from '../../errors.js';

/**
 * Joins an untrusted relative name (a server-provided file name, an archive entry) below `root`, refusing
 * anything that could land elsewhere: `..` components, absolute paths (POSIX or Windows), drive letters,
 * UNC prefixes, NUL bytes, empty names and names that resolve to `root` itself.
 *
 * Both `/` and `\` count as separators, whatever the platform, so a name built on Windows cannot smuggle a
 * `..\` past a POSIX check. `.` components and repeated separators are dropped.
 *
 * @returns an absolute path strictly inside `root`.
 * @throws UsageError naming the refused input and why.
 */
export function safeJoin(root: string, untrusted: string): string {
  const reason = unsafeReason(untrusted);
  if (reason) throw new UsageError(`Refusing unsafe path ${JSON.stringify(untrusted)}: ${reason}`);
  const parts = splitSafe(untrusted);
  const base = path.resolve(root);
  const joined = path.resolve(base, ...parts);
  if (!isInside(base, joined)) {
    throw new UsageError(`Refusing unsafe path ${JSON.stringify(untrusted)}: it resolves outside ${base}`);
  }
  return joined;
}

/** The components of a name already checked by `unsafeReason`. */
function splitSafe(name: string): string[] {
  return name.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
}

/** Why `name` is not a safe relative path, or `undefined` when it is. */
export function unsafeReason(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'the name is empty';
  if (name.includes('\0')) return 'it contains a NUL byte';
  if (/^[\\/]/.test(name)) return 'it is an absolute path';
  if (/^[a-zA-Z]:/.test(name)) return 'it starts with a drive letter';
  const parts = name.split(/[\\/]+/);
  if (parts.some((p) => p === '..')) return 'it contains a ".." component';
  if (splitSafe(name).length === 0) return 'it names no file';
  return undefined;
}

/** True when `candidate` is `root` or below it (both absolute). */
export function isInside(root: string, candidate: string, { allowEqual = false } = {}): boolean {
  const rel = path.relative(root, candidate);
  if (rel === '') return allowEqual;
  return !path.isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${path.sep}`);
}
