import type { ListOptions, PageIterable, RequestOptions } from '@sciport/core';
import { requestOptions, singlePage } from '@sciport/core';
import { z } from 'zod';
import { type Context, call, id } from '../internal/context.js';

import { itemsOf } from '../schemas/common.js';
import { accessGroupSchema } from '../schemas/users.js';

/** Access groups of a resource (spec §16.7; admin keys). */
export class Access {
  constructor(protected readonly ctx: Context) {}

  /** The names of the groups that can read a resource (v1: a dataset). */
  groups(resourceId: string, options: ListOptions = {}): PageIterable<string, unknown> {
    return singlePage(
      (signal) =>
        call(this.ctx, this.path(resourceId), itemsOf(accessGroupSchema), {
          ...requestOptions(options),
          signal,
          adminOnly: 'Reading access groups',
        }),
      options,
    );
  }

  /** Grants a group read (and optionally write) access to a resource. */
  async grant(
    resourceId: string,
    group: string,
    access: { read?: boolean; write?: boolean } = {},
    options: RequestOptions = {},
  ): Promise<void> {
    await call(this.ctx, this.path(resourceId), z.unknown(), {
      method: 'POST',
      query: { group_name: group, read: access.read ?? true, write: access.write ?? false },
      ...requestOptions(options),
      idempotent: true,
      adminOnly: 'Granting access',
    });
  }

  private path(resourceId: string): string {
    return this.ctx.version === 'v2'
      ? `resources/${id(resourceId, 'id')}/access_groups`
      : `datasets/${id(resourceId, 'dataset id')}/access_groups`;
  }
}
