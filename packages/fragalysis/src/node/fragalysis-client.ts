import { nodeTransport } from '@sciport/core/node';
import {
  FragalysisClient as BaseFragalysisClient,
  type FragalysisClientOptions,
} from '../fragalysis-client.js';
import type { Context } from '../internal/context.js';
import { NodeArchives } from './archives.js';
import { NodeCompoundSets } from './csets.js';
import { NodeUploads } from './uploads.js';

/**
 * The Fragalysis client of the Node entry point: the same client, with API calls through the environment's
 * proxy (`HTTPS_PROXY`, `NO_PROXY`) and archives fetched over undici, and with `archives.download` and
 * `archives.sync`, which write files.
 */
export class FragalysisClient extends BaseFragalysisClient {
  declare readonly archives: NodeArchives;
  declare readonly uploads: NodeUploads;
  declare readonly compoundSets: NodeCompoundSets;

  constructor(options: FragalysisClientOptions = {}) {
    super(options, nodeTransport(options.fetch));
  }

  protected override createArchives(ctx: Context): NodeArchives {
    return new NodeArchives(ctx);
  }

  protected override createUploads(ctx: Context): NodeUploads {
    return new NodeUploads(ctx);
  }

  protected override createCompoundSets(ctx: Context): NodeCompoundSets {
    return new NodeCompoundSets(ctx);
  }
}
