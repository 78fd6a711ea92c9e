#!/usr/bin/env node
// Extraction memory benchmark: the peak RSS of @sciport/core's extractArchive, each case in its own process
// (`process.resourceUsage().maxRSS`), for entries far larger than memory should hold. Not a timed test: the
// times are printed for information only.
//
//   node bench/extract-memory.mjs [gibibytes]        (size of the legitimate entries, default 1)
//
// Cases (archives generated on the fly in a temporary folder, removed at the end):
//   - a tar.gz and a zip each holding one entry of `gibibytes` GiB of zeros, extracted with the ratio limit
//     raised (zeros are the worst case for memory: 1 KiB of deflate inflates to 1 MiB);
//   - a 3 MiB tar.gz whose entry is 3 GiB (refused: ratio), a zip declaring its 3 GiB entry (refused before a
//     byte is inflated), and a zip whose entry declares 1 MiB but inflates to 3 GiB (refused: it lies).
// Target: peak RSS under 200 MB in every case, and each case ends as it should (extracted or refused).
// Writes bench/results/extract-memory.json; exits 1 when a target is missed.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { fmt, root, writeResult } from './lib.mjs';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TARGET_MB = 200;

/** One extraction in this process; prints its outcome and peak RSS as one JSON line. */
async function child(archive, destination, options) {
  const { extractArchive } = await import(path.join(root, 'packages', 'core', 'dist', 'extract.js'));
  const started = performance.now();
  let outcome;
  try {
    const r = await extractArchive(archive, destination, options);
    outcome = { ok: true, bytes: r.bytes };
  } catch (error) {
    outcome = { ok: false, reason: error.reason ?? error.name, message: String(error.message).slice(0, 160) };
  }
  const ms = performance.now() - started;
  // maxRSS is in KiB.
  console.log(JSON.stringify({ ...outcome, ms, peakRssMB: (process.resourceUsage().maxRSS * 1024) / 1e6 }));
}

function runChild(archive, destination, options) {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [script, '--child', archive, destination, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
    });
    p.once('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`extraction child exited with ${code}: ${last}`));
      else resolve(JSON.parse(last));
    });
  });
}

// --- archives built from repeated pieces: a deflate stream of gigabytes of zeros in well under a second ------

/**
 * A raw deflate stream of `parts` (Buffers, repeated ones compressed once): each part is compressed on its own
 * and sync-flushed (byte-aligned, non-final, referring only to itself), so the pieces can be concatenated; a
 * final empty block ends the stream. Returns the pieces to write, the CRC-32 and size of the content.
 */
function deflatePieces(parts) {
  const cache = new Map();
  const pieces = [];
  let crc = 0;
  let size = 0;
  for (const part of parts) {
    let compressed = cache.get(part);
    if (!compressed) {
      compressed = deflateRawSync(part, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
      cache.set(part, compressed);
    }
    pieces.push(compressed);
    crc = part.length === 0 ? crc : crc32(part, crc);
    size += part.length;
  }
  pieces.push(deflateRawSync(Buffer.alloc(0)));
  return { pieces, crc: crc >>> 0, size, compressedSize: pieces.reduce((n, p) => n + p.length, 0) };
}

function tarHeader(name, size) {
  const h = Buffer.alloc(512);
  const octal = (v, n) => `${v.toString(8).padStart(n - 1, '0')}\0`;
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 8, 'latin1');
  h.write(octal(0, 8), 108, 8, 'latin1');
  h.write(octal(0, 8), 116, 8, 'latin1');
  h.write(octal(size, 12), 124, 12, 'latin1');
  h.write(octal(1_700_000_000, 12), 136, 12, 'latin1');
  h.write('        ', 148, 8, 'latin1');
  h.write('0', 156, 1, 'latin1');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

const ZEROS = Buffer.alloc(MiB);

function zeros(bytes) {
  return Array.from({ length: bytes / MiB }, () => ZEROS);
}

async function writePieces(file, pieces) {
  const out = createWriteStream(file);
  for (const piece of pieces) {
    if (!out.write(piece)) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve, reject) => out.end((error) => (error ? reject(error) : resolve())));
}

/** A tar.gz of one file of `bytes` zeros. */
async function writeTarGz(file, bytes) {
  const d = deflatePieces([tarHeader('zeros.bin', bytes), ...zeros(bytes), Buffer.alloc(1024)]);
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(d.crc, 0);
  trailer.writeUInt32LE(d.size % 2 ** 32, 4);
  await writePieces(file, [header, ...d.pieces, trailer]);
}

/** A zip of one deflated file of `bytes` zeros that declares `declared` bytes (below 4 GiB: no zip64). */
async function writeZip(file, bytes, declared = bytes) {
  const d = deflatePieces(zeros(bytes));
  const name = Buffer.from('zeros.bin');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(d.crc, 14);
  local.writeUInt32LE(d.compressedSize, 18);
  local.writeUInt32LE(declared, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(d.crc, 16);
  central.writeUInt32LE(d.compressedSize, 20);
  central.writeUInt32LE(declared, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
  central.writeUInt32LE(0, 42);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(local.length + name.length + d.compressedSize, 16);
  await writePieces(file, [local, name, ...d.pieces, central, name, end]);
}

async function main(gib) {
  // On disk by default (tmpfs pages would count against the machine's memory, not this process's).
  const work = mkdtempSync(path.join(process.env.BENCH_TMPDIR ?? tmpdir(), 'sciport-bench-xmem-'));
  const legit = Math.round(gib * GiB);
  const bomb = 3 * GiB;
  const raised = { maxRatio: 5000 };
  const cases = [
    {
      name: `tar.gz, one ${fmt(gib, 1)} GiB entry`,
      file: 'legit.tar.gz',
      expect: 'extracted',
      options: raised,
    },
    { name: `zip, one ${fmt(gib, 1)} GiB entry`, file: 'legit.zip', expect: 'extracted', options: raised },
    { name: 'tar.gz bomb, 3 GiB entry', file: 'bomb.tar.gz', expect: 'refused', options: {} },
    { name: 'zip bomb, 3 GiB entry declared', file: 'bomb.zip', expect: 'refused', options: {} },
    { name: 'zip bomb, 3 GiB entry declared 1 MiB', file: 'liar.zip', expect: 'refused', options: {} },
  ];
  try {
    const built = performance.now();
    await writeTarGz(path.join(work, 'legit.tar.gz'), legit);
    await writeZip(path.join(work, 'legit.zip'), legit);
    await writeTarGz(path.join(work, 'bomb.tar.gz'), bomb);
    await writeZip(path.join(work, 'bomb.zip'), bomb);
    await writeZip(path.join(work, 'liar.zip'), bomb, MiB);
    console.log(`archives built in ${fmt((performance.now() - built) / 1000)} s in ${work}`);

    const rows = [];
    for (const c of cases) {
      const archive = path.join(work, c.file);
      const destination = path.join(work, 'out');
      const r = await runChild(archive, destination, c.options);
      rmSync(destination, { recursive: true, force: true });
      const outcome = r.ok ? 'extracted' : `refused (${r.reason})`;
      rows.push({
        ...c,
        archiveMB: statSync(archive).size / 1e6,
        outcome,
        ok: r.ok,
        message: r.message,
        ms: r.ms,
        peakRssMB: r.peakRssMB,
        met: r.peakRssMB < TARGET_MB && (c.expect === 'extracted') === r.ok,
      });
      rmSync(archive, { force: true });
    }

    const header = ['case', 'archive MB', 'outcome', 'seconds', 'peak RSS MB', `< ${TARGET_MB} MB`];
    const table = rows.map((r) => [
      r.name,
      fmt(r.archiveMB, 1),
      r.outcome,
      fmt(r.ms / 1000, 1),
      fmt(r.peakRssMB, 0),
      r.met ? 'yes' : 'NO',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
    const line = (cells) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ');
    console.log(line(header));
    for (const row of table) console.log(line(row));

    const met = rows.every((r) => r.met);
    const file = writeResult('extract-memory', {
      benchmark: 'extract-memory',
      date: new Date().toISOString(),
      node: process.version,
      outputDir: work,
      targetPeakRssMB: TARGET_MB,
      cases: rows.map(({ file: _f, options, ...r }) => ({ ...r, options })),
      met,
    });
    console.log(`${met ? 'targets met' : 'TARGET MISSED'}; wrote ${path.relative(root, file)}`);
    process.exitCode = met ? 0 : 1;
  } finally {
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], JSON.parse(process.argv[5] ?? '{}'));
} else {
  await main(Number(process.argv[2] ?? process.env.BENCH_EXTRACT_GIB ?? 1));
}
