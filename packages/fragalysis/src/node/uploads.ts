import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { type RequestOptions, UsageError } from '@sciport/core';
import { sha256File } from '@sciport/core/node';
import {
  type UploadFindOptions,
  type UploadOutcome,
  Uploads,
  type UploadTask,
} from '../resources/uploads.js';
import { checkXcaBundle, type XcaBundleInfo } from './xca-bundle.js';

/** What to upload a bundle to, and whether to wait for its load (issue 14: xca). */
export interface XcaUploadOptions extends UploadFindOptions, RequestOptions {
  /** The target's title: must match `target_name` of the bundle's config when it names one. */
  target: string;
  /** The target access string (proposal) to upload to. */
  tas: string;
  /** `contact_email` of the upload. */
  contactEmail?: string | undefined;
  /** Wait for the loader task to end and find the new upload (default false: return once accepted). */
  wait?: boolean | undefined;
  /** Called once the bundle passed its check, before anything is sent. */
  onChecked?: ((bundle: XcaBundleInfo) => void) | undefined;
}

export interface XcaUploadResult {
  bundle: XcaBundleInfo;
  /** The bundle's SHA-256 (hex), sent as `sha256checksum`. */
  sha256: string;
  task: UploadTask;
  /** With `wait`: the loader's messages and the new upload. */
  outcome: UploadOutcome | undefined;
}

/** Upload history and XCA uploads from files (the Node client's `uploads`). */
export class NodeUploads extends Uploads {
  /**
   * Uploads an XChemAlign bundle (spec §11.5): checks it first (a tar, plain or gzip, whose top level holds
   * `upload_<n>/` with `meta_aligner.yaml` and `config*.yaml`, no member escaping it), computes its SHA-256 by
   * streaming it, then streams it to the stack; with `wait`, polls the loader task to its end and finds the new
   * upload's index. Nothing is sent for a bundle that fails its check.
   *
   * @throws UsageError for a file that is not a valid bundle (before any request); see `start` and `wait`.
   */
  async upload(file: string, options: XcaUploadOptions): Promise<XcaUploadResult> {
    const abs = path.resolve(file);
    if (!options.tas.trim()) throw new UsageError('An upload needs the target access string (tas)');
    const bundle = await checkXcaBundle(abs, { signal: options.signal });
    if (bundle.targetName !== undefined && bundle.targetName !== options.target) {
      throw new UsageError(
        `${path.basename(abs)} is a bundle of ${JSON.stringify(bundle.targetName)} (target_name of its config), not of ${JSON.stringify(options.target)}`,
      );
    }
    options.onChecked?.(bundle);
    const sha256 = await sha256File(abs, options.signal);
    const blob = await openAsBlob(abs, { type: 'application/gzip' });
    const task = await this.start(
      {
        tas: options.tas.trim(),
        file: blob,
        fileName: path.basename(abs),
        sha256,
        contactEmail: options.contactEmail,
      },
      options,
    );
    if (!options.wait) return { bundle, sha256, task, outcome: undefined };
    const outcome = await this.wait(task, {
      ...options,
      target: options.target,
      folder: bundle.versionDir ?? bundle.folder,
    });
    return { bundle, sha256, task, outcome };
  }
}
