import { z } from 'zod';
import { str } from './common.js';
import { fileSchema } from './files.js';

/**
 * `POST /datasets/{id}/upload/initiate/multipart` (§17.2, §19.9): storage credentials for the GCS XML multipart
 * upload of `<bucket>/<object_prefix><filename>`, or the file the server already has.
 */
export const initiateMultipartSchema = z.looseObject({
  upload_id: str,
  access_token: str,
  project: str,
  bucket: str,
  object_prefix: str,
  chunk_size_hint: z.number().int().positive().nullable().optional(),
  existing_file: fileSchema.nullable().optional(),
});
export type InitiateMultipart = z.output<typeof initiateMultipartSchema>;

/** One part of `GET …?uploadId=` (the XML `ListPartsResult`). */
export const storagePartSchema = z.object({
  partNumber: z.number().int().min(1).max(10_000),
  etag: z.string().min(1),
  size: z.number().int().nonnegative(),
});
export type StoragePart = z.output<typeof storagePartSchema>;

// The storage's XML answers as fast-xml-parser gives them (node/multipart.ts): every value a string (tag values
// are not converted), `Part` always a list, elements other than these ignored (loose objects).
const xmlInteger = z.string().trim().regex(/^\d+$/, 'expected a non-negative integer').transform(Number);

/** `POST …?uploads`: the `InitiateMultipartUploadResult`. */
export const xmlInitiateSchema = z.looseObject({
  InitiateMultipartUploadResult: z.looseObject({ UploadId: z.string().min(1) }),
});

/** `GET …?uploadId=`: the `ListPartsResult`, its parts as {@link StoragePart}s. */
export const xmlListPartsSchema = z.looseObject({
  ListPartsResult: z.looseObject({
    IsTruncated: z.string().optional(),
    NextPartNumberMarker: xmlInteger.optional(),
    Part: z
      .array(
        z
          .looseObject({ PartNumber: xmlInteger, ETag: z.string(), Size: xmlInteger })
          .transform((p) => ({ partNumber: p.PartNumber, etag: p.ETag, size: p.Size }))
          .pipe(storagePartSchema),
      )
      .default([]),
  }),
});

/** The object resource of the JSON API (`GET /storage/v1/b/<bucket>/o/<object>`): what the upload checks. */
export const storageObjectSchema = z.looseObject({
  name: z.string(),
  size: z.union([z.string(), z.number()]).transform(Number),
  crc32c: z.string().optional(),
});
