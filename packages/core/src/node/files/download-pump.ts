import type { Hash } from 'node:crypto';
import { throwIfAborted } from '../../async.js';
import { ConnectionError, FileWriteError, SciportError } from '../../errors.js';
import type { RawBody } from '../../http/raw-body.js';
import type { AtomicFile } from './atomic.js';

/** What a pump reads: a body as a web stream, or without copies (`raw`). */
export interface PumpSource {
  readonly body: ReadableStream<Uint8Array> | null;
  readonly raw?: RawBody | undefined;
}

export interface PumpOptions {
  hash: Hash | undefined;
  signal: AbortSignal | undefined;
  /** Called with the file's size after each write. */
  onBytes: (bytes: number) => void;
  /**
   * The size the file must not exceed (the known total): the piece that carries one byte more ends the
   * transfer with the error `tooLarge` gives, before any of it is written.
   */
  limit: number | undefined;
  tooLarge: (received: number) => SciportError;
  /** Called for every piece that arrives (an idle timer's refresh). */
  onPiece?: (() => void) | undefined;
}

/** Bytes gathered before one write: a write per network chunk (about 64 KiB) halves the throughput. */
export const WRITE_BATCH = 1024 * 1024;

/**
 * Copies a body into `file`, to at most `limit` bytes in all. Whatever arrived is on disk when this returns or
 * throws with an interruption (a `ConnectionError`, an abort), so `file.bytesWritten` is the offset to resume
 * from; after any other error (too many bytes, a failed write) the file is to be discarded.
 */
export async function pump(source: PumpSource, file: AtomicFile, options: PumpOptions): Promise<void> {
  if (source.raw && !source.body?.locked) {
    await pumpRaw(source.raw, file, options);
    return;
  }
  if (source.body) await pumpStream(source.body, file, options);
}

/**
 * Copies a web stream: chunks are hashed as they arrive and gathered into 1 MiB writes, each running while the
 * next megabyte is read (at most two in memory). Every write is awaited: a write that fails (a full disk) ends
 * the read at once and is the error reported.
 */
async function pumpStream(
  body: ReadableStream<Uint8Array>,
  file: AtomicFile,
  { hash, signal, onBytes, limit, tooLarge, onPiece }: PumpOptions,
): Promise<void> {
  const reader = body.getReader();
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let batch: Uint8Array[] = [];
  let batched = 0;
  let received = file.bytesWritten;
  // The write under way never rejects: its failure is kept here (a rejection nobody awaits yet would be an
  // unhandled one) and ends the read loop.
  let writing: Promise<void> | undefined;
  let writeFailure: { error: unknown } | undefined;
  // Read through calls: TypeScript cannot see the callback that sets it.
  const failedWrite = (): { error: unknown } | undefined => writeFailure;
  const throwIfWriteFailed = () => {
    const failed = failedWrite();
    if (failed) throw failed.error;
  };
  const flush = async () => {
    await writing;
    writing = undefined;
    throwIfWriteFailed();
    if (batched === 0) return;
    const chunks = batch;
    batch = [];
    batched = 0;
    writing = file.writev(chunks).then(
      () => onBytes(file.bytesWritten),
      (error: unknown) => {
        writeFailure = { error };
        // A read that waits for the network ends now, and reports the write's failure.
        reader.cancel(error).catch(() => undefined);
      },
    );
  };
  try {
    for (;;) {
      throwIfAborted(signal);
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throwIfWriteFailed();
        if (signal?.aborted || SciportError.isInstance(error)) throw error;
        throw new ConnectionError(`the transfer was cut short (${(error as Error).message})`, {
          cause: error,
        });
      }
      throwIfWriteFailed();
      const { done, value } = chunk;
      // A cancelled reader (abort) ends like a finished body: tell them apart.
      throwIfAborted(signal);
      if (done) break;
      onPiece?.();
      received += value.byteLength;
      if (limit !== undefined && received > limit) throw tooLarge(received);
      hash?.update(value);
      batch.push(value);
      batched += value.byteLength;
      if (batched >= WRITE_BATCH) await flush();
    }
    await flush();
    await writing;
    throwIfWriteFailed();
    throwIfAborted(signal);
  } catch (error) {
    const resumable = ConnectionError.isInstance(error) || signal?.aborted === true;
    await reader.cancel().catch(() => undefined);
    // What arrived (and was hashed) goes to disk, so that a resume continues from the right offset. Not after
    // wrong data or a failed write: that file is discarded.
    if (resumable && !signal?.aborted && !failedWrite()) {
      await flush().catch(() => undefined);
      await writing;
    }
    const failed = failedWrite();
    if (failed && !signal?.aborted) throw failed.error;
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}

/**
 * Copies a body handed over without copies: each piece is hashed and written at once (synchronously: it lives
 * in the transport's read buffer only until the sink returns). The size check is one comparison per piece.
 */
async function pumpRaw(
  raw: RawBody,
  file: AtomicFile,
  { hash, signal, onBytes, limit, tooLarge, onPiece }: PumpOptions,
): Promise<void> {
  throwIfAborted(signal);
  let sinkError: { error: unknown } | undefined;
  // Small pieces (a server that writes a few KiB at a time) are gathered into one buffer first: a write per
  // piece costs a system call each, which for 16 KiB pieces took four times the hashing's time.
  // Pieces are valid only during the sink's call (the transport reads into their memory again): large ones are
  // written at once, small ones copied into the staging buffer.
  const staging = Buffer.allocUnsafe(WRITE_BATCH);
  let staged = 0;
  let received = file.bytesWritten;
  const flushStaged = () => {
    if (staged === 0) return;
    file.writeSync(staging.subarray(0, staged));
    staged = 0;
    onBytes(file.bytesWritten);
  };
  try {
    await raw.pipe(
      (chunk) => {
        try {
          onPiece?.();
          received += chunk.byteLength;
          // Thrown from the sink: the transport ends the exchange (and releases the connection) at once.
          if (limit !== undefined && received > limit) throw tooLarge(received);
          hash?.update(chunk);
          if (chunk.byteLength >= WRITE_BATCH / 4) {
            // A large piece goes out at once, after whatever was gathered before it.
            flushStaged();
            file.writeSync(chunk);
            onBytes(file.bytesWritten);
          } else {
            if (staged + chunk.byteLength > WRITE_BATCH) flushStaged();
            staging.set(chunk, staged);
            staged += chunk.byteLength;
          }
        } catch (error) {
          sinkError = { error };
          throw error;
        }
      },
      { signal },
    );
    flushStaged();
  } catch (error) {
    // Wrong data or a failed write (a full disk): not a transfer to resume, the file is discarded.
    if (sinkError) throw sinkError.error;
    if (FileWriteError.isInstance(error)) throw error;
    // What arrived (and was hashed) goes to disk, so that a resume continues from the right offset.
    flushStaged();
    throwIfAborted(signal);
    if (SciportError.isInstance(error)) throw error;
    throw new ConnectionError(`the transfer was cut short (${(error as Error).message})`, { cause: error });
  }
  throwIfAborted(signal);
}
