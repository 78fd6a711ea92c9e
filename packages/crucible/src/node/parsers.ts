import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import type { DatasetInput } from '../resources/datasets.js';

/**
 * Local parsers (spec §12): they turn data files into a dataset description before upload — fields, scientific
 * metadata, keywords, and the files to send. A parser is a plug-in: `registerParser('name', parser)`.
 */
export interface ParsedDataset {
  dataset: DatasetInput;
  scientificMetadata: Record<string, unknown>;
  keywords: string[];
  /** Files to upload (absolute paths). */
  files: string[];
}

export interface DatasetParser {
  /** One line for `--help`. */
  description: string;
  parse(files: readonly string[]): Promise<ParsedDataset>;
}

const registry = new Map<string, DatasetParser>();

export function registerParser(name: string, parser: DatasetParser): void {
  registry.set(name.toLowerCase(), parser);
}

export function getParser(name: string): DatasetParser {
  const parser = registry.get(name.toLowerCase());
  if (!parser) {
    throw new UsageError(
      `No parser named ${JSON.stringify(name)}; available: ${[...registry.keys()].join(', ')}`,
    );
  }
  return parser;
}

export function parserNames(): string[] {
  return [...registry.keys()];
}

/** The generic "parser": every file uploaded as is, no metadata. */
export const genericParser: DatasetParser = {
  description: 'upload the files as they are',
  async parse(files) {
    if (files.length === 0) throw new UsageError('No files to upload');
    return {
      dataset: { measurement: 'generic' },
      scientificMetadata: {},
      keywords: [],
      files: files.map((f) => path.resolve(f)),
    };
  },
};

/** Standard atomic masses, to name LAMMPS atom types from the data file's Masses section. */
const MASSES: ReadonlyArray<readonly [string, number]> = [
  ['H', 1.008],
  ['He', 4.0026],
  ['Li', 6.94],
  ['Be', 9.0122],
  ['B', 10.81],
  ['C', 12.011],
  ['N', 14.007],
  ['O', 15.999],
  ['F', 18.998],
  ['Ne', 20.18],
  ['Na', 22.99],
  ['Mg', 24.305],
  ['Al', 26.982],
  ['Si', 28.085],
  ['P', 30.974],
  ['S', 32.06],
  ['Cl', 35.45],
  ['Ar', 39.948],
  ['K', 39.098],
  ['Ca', 40.078],
  ['Ti', 47.867],
  ['V', 50.942],
  ['Cr', 51.996],
  ['Mn', 54.938],
  ['Fe', 55.845],
  ['Co', 58.933],
  ['Ni', 58.693],
  ['Cu', 63.546],
  ['Zn', 65.38],
  ['Ga', 69.723],
  ['Ge', 72.63],
  ['As', 74.922],
  ['Se', 78.971],
  ['Br', 79.904],
  ['Kr', 83.798],
  ['Rb', 85.468],
  ['Sr', 87.62],
  ['Y', 88.906],
  ['Zr', 91.224],
  ['Nb', 92.906],
  ['Mo', 95.95],
  ['Ag', 107.87],
  ['Cd', 112.41],
  ['In', 114.82],
  ['Sn', 118.71],
  ['Sb', 121.76],
  ['Te', 127.6],
  ['I', 126.9],
  ['Xe', 131.29],
  ['Cs', 132.91],
  ['Ba', 137.33],
  ['La', 138.91],
  ['Ce', 140.12],
  ['Gd', 157.25],
  ['Hf', 178.49],
  ['Ta', 180.95],
  ['W', 183.84],
  ['Pt', 195.08],
  ['Au', 196.97],
  ['Pb', 207.2],
  ['Bi', 208.98],
  ['U', 238.03],
];

function elementForMass(mass: number): string | undefined {
  let best: string | undefined;
  let bestDelta = 0.5;
  for (const [symbol, m] of MASSES) {
    const delta = Math.abs(m - mass);
    if (delta < bestDelta) {
      best = symbol;
      bestDelta = delta;
    }
  }
  return best;
}

/**
 * Reads a LAMMPS input script: `variable NAME style VALUE` definitions (expanded as `${NAME}` or `$N`), the
 * `read_data` file, the `log` files (default `log.lammps`) and the `dump` files; then the data file's atom count,
 * box (volume) and Masses (element symbols). Tokens are read by name, not by position, and a missing piece is
 * left out rather than crashing.
 */
export async function parseLammps(inputScript: string): Promise<ParsedDataset> {
  const scriptPath = path.resolve(inputScript);
  const root = path.dirname(scriptPath);
  const text = await readFile(scriptPath, 'utf8').catch(() => {
    throw new UsageError(`Cannot read the LAMMPS input script ${scriptPath}`);
  });
  const variables = new Map<string, string>();
  const expand = (s: string) =>
    s.replace(
      /\$\{([^}]+)\}|\$([A-Za-z0-9_])/g,
      (whole, long: string | undefined, short: string | undefined) =>
        variables.get(long ?? short ?? '') ?? whole,
    );
  let dataFile: string | undefined;
  const logFiles: string[] = [];
  const dumpFiles: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const tokens = line.split(/\s+/);
    const command = tokens[0];
    if (command === 'variable' && tokens.length >= 4) {
      variables.set(tokens[1] as string, expand(tokens.slice(3).join(' ')).replace(/^["']|["']$/g, ''));
    } else if (command === 'read_data' && tokens[1]) {
      dataFile = expand(tokens[1]);
    } else if (command === 'log' && tokens[1]) {
      logFiles.push(expand(tokens[1]));
    } else if (command === 'dump' && tokens.length >= 6) {
      dumpFiles.push(expand(tokens[5] as string));
    }
  }
  if (logFiles.length === 0) logFiles.push('log.lammps');
  const metadata: Record<string, unknown> = {
    root,
    input_file: path.basename(scriptPath),
    ...(dataFile ? { data_file: dataFile } : {}),
    log_files: logFiles,
    dump_files: dumpFiles,
    variables: Object.fromEntries(variables),
  };
  const elements: string[] = [];
  if (dataFile) {
    const data = await readFile(path.resolve(root, dataFile), 'utf8').catch(() => undefined);
    if (data !== undefined) Object.assign(metadata, readDataFile(data, elements));
  }
  const log = await readFile(path.resolve(root, logFiles[0] as string), 'utf8').catch(() => undefined);
  const version = log?.split(/\r?\n/, 1)[0]?.trim();
  if (version) metadata.lammps_version = version;
  if (elements.length) metadata.elements = elements;
  const files = [scriptPath, ...(dataFile ? [path.resolve(root, dataFile)] : [])];
  return {
    dataset: { measurement: 'LAMMPS', dataFormat: 'LAMMPS', dataType: 'LAMMPS simulation' },
    scientificMetadata: metadata,
    keywords: ['LAMMPS', 'molecular dynamics', ...elements],
    files,
  };
}

function readDataFile(text: string, elements: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const lines = text.split(/\r?\n/);
  const bounds: Record<string, number> = {};
  let inMasses = false;
  for (const raw of lines) {
    const line = raw.replace(/#.*/, '').trim();
    if (/^Masses\b/.test(line)) {
      inMasses = true;
      continue;
    }
    if (inMasses) {
      if (!line) {
        if (elements.length) inMasses = false;
        continue;
      }
      if (/^[A-Za-z]/.test(line)) {
        inMasses = false;
      } else {
        const mass = Number(line.split(/\s+/)[1]);
        const symbol = Number.isFinite(mass) ? elementForMass(mass) : undefined;
        if (symbol && !elements.includes(symbol)) elements.push(symbol);
        continue;
      }
    }
    let m = /^(\d+)\s+atoms$/.exec(line);
    if (m) out.natoms = Number(m[1]);
    m = /^(\S+)\s+(\S+)\s+([xyz])lo\s+[xyz]hi$/.exec(line);
    if (m) bounds[m[3] as string] = Number(m[2]) - Number(m[1]);
  }
  if (bounds.x !== undefined && bounds.y !== undefined && bounds.z !== undefined) {
    out.volume = Number((bounds.x * bounds.y * bounds.z).toPrecision(12));
  }
  return out;
}

export const lammpsParser: DatasetParser = {
  description: 'LAMMPS input script: data file, atoms, volume, elements, version',
  async parse(files) {
    const script = files[0];
    if (!script) throw new UsageError('The LAMMPS parser needs the input script');
    const parsed = await parseLammps(script);
    const extra = files.slice(1).map((f) => path.resolve(f));
    return { ...parsed, files: [...new Set([...parsed.files, ...extra])] };
  },
};

registerParser('generic', genericParser);
registerParser('lammps', lammpsParser);
registerParser('md', lammpsParser);
