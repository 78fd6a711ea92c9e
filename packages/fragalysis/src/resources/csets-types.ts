import type { RequestOptions, WaitOptions } from '@sciport/core';
import type { CompoundSetIssue, CompoundSetTaskKind } from '../internal/cset-html.js';

export type { CompoundSetIssue, CompoundSetTaskKind } from '../internal/cset-html.js';

/** A validate or upload task a compound-set upload started (spec §11.4). */
export interface CompoundSetTask {
  /** `validate` (submit choice V) or `upload` (U). */
  kind: CompoundSetTaskKind;
  /** The Celery task id. */
  id: string;
  /** The task's status URL on this stack (`/viewer/validate_task/<id>/` or `/viewer/upload_task/<id>/`). */
  url: string;
}

/** What to upload: an SDF for a target (title and TAS), optionally a zip of the PDBs it names. */
export interface CompoundSetUploadRequest extends RequestOptions {
  /** The target's title (`target_name`). */
  target: string;
  /** The target access string (`proposal_ref`); uploads need membership of it. */
  tas: string;
  /** The SDF (sent as the file part `sdf_file`). */
  sdf: Blob;
  /** Its file name (default `upload.sdf`). */
  sdfName?: string | undefined;
  /** A zip of the PDB files the SDF names (the file part `pdb_zip`). */
  pdbZip?: Blob | undefined;
  /** Its file name (default `pdbs.zip`). */
  pdbZipName?: string | undefined;
  /** Validate only (`submit_choice=V`) instead of uploading (`U`). */
  validateOnly?: boolean | undefined;
  /** Replace the set of this name (`update_set`; default `None`: a new set). */
  updateSet?: string | undefined;
}

/** The options of a wait for a validate or upload task. */
export interface CompoundSetWaitOptions extends WaitOptions, RequestOptions {
  /** Give up after this long in all, in ms (default 30 minutes). */
  maxWaitTime?: number | undefined;
  /** Each Celery state seen while waiting (`PENDING`, `STARTED`, …). */
  onState?: ((state: string) => void) | undefined;
}

/** How a validate or upload task ended (Celery `SUCCESS`): validated or not, and why not, per molecule. */
export interface CompoundSetTaskResult {
  task: CompoundSetTask;
  /** The final Celery state (`SUCCESS`). */
  status: string;
  /** Whether the server validated the file (`"Validated"`). */
  validated: boolean;
  /** The problems of the file, one per molecule and field (empty when it validated). */
  issues: CompoundSetIssue[];
  /** The server's closing sentence, as text. */
  message: string | undefined;
  /** For an upload that went in: the new set's download links (relative to the stack). */
  results?: { csetDownloadUrl: string | undefined; psetDownloadUrl: string | undefined } | undefined;
  /** The last status answer as the server sent it. */
  raw: unknown;
}
