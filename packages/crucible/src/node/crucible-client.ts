import { nodeTransport } from '@sciport/core/node';
import { CrucibleClient as BaseCrucibleClient, type CrucibleClientOptions } from '../crucible-client.js';
import type { Context } from '../internal/context.js';
import { NodeDatasets } from './datasets.js';
import { NodeFiles } from './files.js';

/**
 * The Crucible client on Node: the same client as in browsers, over Node's transport (the environment's proxy,
 * bulk uploads and downloads over undici), with the resources that touch files: `datasets.download`,
 * `datasets.createFromFiles` and `files.upload`.
 */
export class CrucibleClient extends BaseCrucibleClient {
  declare readonly datasets: NodeDatasets;
  declare readonly files: NodeFiles;

  constructor(options: CrucibleClientOptions = {}) {
    super(options, nodeTransport(options.fetch));
  }

  protected override createDatasets(ctx: Context): NodeDatasets {
    return new NodeDatasets(ctx);
  }

  protected override createFiles(ctx: Context): NodeFiles {
    return new NodeFiles(ctx);
  }
}
