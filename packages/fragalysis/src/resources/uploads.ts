import type { ListOptions, PageIterable } from '@sciport/core';
import { requestOptions, singlePage } from '@sciport/core';
import type { Context } from '../internal/context.js';
import { drfList } from '../internal/pages.js';
import { type UploadRecord, type UploadStats, uploadRecordSchema } from '../schemas/uploads.js';

/** The key of a target in maps and sync state: its title and target access string. */
export function targetKey(title: string, tas: string): string {
  return `${title}|${tas}`;
}

/** Upload history (spec §4.8). */
export class Uploads {
  readonly #ctx: Context;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /**
   * Upload statistics per target, keyed by title and target access string, sorted by title then TAS: the last
   * upload's index and time, and every upload record. Computed from the whole upload history (every page),
   * so it comes as one page.
   */
  list(options: ListOptions = {}): PageIterable<UploadStats, readonly UploadStats[]> {
    return singlePage(async (signal) => {
      const groups = new Map<string, UploadRecord[]>();
      const records = drfList(this.#ctx, '/api/target_experiment_uploads/', uploadRecordSchema, {
        ...requestOptions(options),
        signal,
      });
      for await (const u of records) {
        const key = targetKey(u.targetName, u.proposalNumber);
        const list = groups.get(key);
        if (list) list.push(u);
        else groups.set(key, [u]);
      }
      const stats: UploadStats[] = [];
      for (const list of groups.values()) {
        list.sort((a, b) => a.uploadIndex - b.uploadIndex);
        const last = list[list.length - 1] as UploadRecord;
        stats.push({
          targetId: last.target,
          targetName: last.targetName,
          tas: last.proposalNumber,
          projectId: last.project ?? undefined,
          lastUploadIndex: last.uploadIndex,
          lastUploadTimestamp: last.timestamp,
          uploads: list,
        });
      }
      return stats.sort((a, b) => a.targetName.localeCompare(b.targetName) || a.tas.localeCompare(b.tas));
    }, options);
  }
}
