import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { int, str } from './common.js';

/** A file record: v2 `File` (with `mfid`) or a v1 associated file. */
export const fileSchema = apiRecord(
  z.looseObject({
    mfid: str,
    file_id: str,
    id: int,
    dataset_mfid: str,
    filename: z.string(),
    storage_path: str,
    size: z.number().nullable().optional(),
    sha256_hash: str,
    storage_backend: str,
    access_note: str,
  }),
);
export type CrucibleFile = z.output<typeof fileSchema>;

/** `POST /datasets/{id}/upload/initiate` (§17.1): a session, or the file the server already has. */
export const initiateUploadSchema = z.looseObject({
  upload_id: str,
  resumable_uri: str,
  chunk_size_hint: z.number().int().positive().nullable().optional(),
  existing_file: fileSchema.nullable().optional(),
});

export const downloadLinkSchema = z.looseObject({
  url: z.string(),
  expires_in: z.number().nullable().optional(),
});
