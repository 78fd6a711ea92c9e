import { UsageError } from '@sciport/core';
import type { SyncResult } from '@sciport/fragalysis';
import type { CliContext } from '../../context.js';
import { formatBytes, info, printNdjson } from '../../output.js';

/** `sciport fragalysis sync --observations [--prune]` (spec §11.3): the flags' checks and the per-target output. */

export interface ObservationSyncFlags {
  observations?: boolean;
  prune?: boolean;
  proteins?: string;
  fileUrl?: string;
}

/** Usage errors of `--observations` / `--prune`, before anything is sent. */
export function checkObservationFlags(options: ObservationSyncFlags): void {
  if (options.prune && !options.observations) throw new UsageError('--prune needs --observations');
  if (!options.observations) return;
  if (options.proteins)
    throw new UsageError('--observations chooses the observations itself: leave out --proteins');
  if (options.fileUrl) throw new UsageError('--observations cannot be combined with --file-url');
}

const FIRST = 5;

function some(codes: readonly string[]): string {
  const shown = codes.slice(0, FIRST).join(', ');
  return codes.length > FIRST ? `${shown}, … (${codes.length - FIRST} more)` : shown;
}

/** Prints one target of an observation-level sync; false when `r` is not one (the caller prints it). */
export function printObservationSync(ctx: CliContext, r: SyncResult): boolean {
  const o = r.observations;
  if (!o) return false;
  const group = (codes: readonly string[]) => ({ count: codes.length, codes });
  if (ctx.json) {
    printNdjson(ctx.out, {
      target: r.target,
      tas: r.tas,
      status: r.status,
      lastUploadIndex: r.lastUploadIndex ?? null,
      folder: o.folder,
      markers: o.markers,
      new: group(o.new),
      changed: group(o.changed),
      unchanged: group(o.unchanged),
      removed: group(o.removed),
      pruned: group(o.pruned),
      archives: o.archives,
      bytes: o.bytes,
    });
    return true;
  }
  const parts = [
    `${o.new.length} new`,
    `${o.changed.length} changed`,
    `${o.unchanged.length} unchanged`,
    `${o.removed.length} removed`,
  ];
  const fetched = o.archives > 0 ? `, ${formatBytes(o.bytes)} in ${o.archives} archive(s)` : '';
  info(ctx, `${r.target} (${r.tas}): ${r.status}: ${parts.join(', ')}${fetched} → ${o.folder}`);
  if (o.new.length) info(ctx, `  new: ${some(o.new)}`);
  if (o.changed.length) info(ctx, `  changed: ${some(o.changed)}`);
  if (o.pruned.length) info(ctx, `  removed and deleted: ${some(o.pruned)}`);
  else if (o.removed.length)
    info(ctx, `  removed on the server, kept here (--prune deletes them): ${some(o.removed)}`);
  return true;
}
