import { nodeTransport } from '@sciport/core/node';
import { IcsdClient as BaseIcsdClient, type IcsdClientOptions } from '../icsd-client.js';
import type { IcsdContext } from '../internal/context.js';
import { NodeCifs } from './cifs.js';

/**
 * The ICSD client of the Node entry point: the same client, over core's Node transport (the environment's
 * proxy), with the methods that write files: `icsd.cifs.download(ids, dir)` and `icsd.cifs.mirror(dir)`.
 */
export class IcsdClient extends BaseIcsdClient {
  /** CIF documents, with `download` and `mirror`. */
  declare readonly cifs: NodeCifs;

  constructor(options: IcsdClientOptions = {}) {
    super(options, nodeTransport(options.fetch));
  }

  protected override createCifs(ctx: IcsdContext): NodeCifs {
    return new NodeCifs(ctx);
  }
}
