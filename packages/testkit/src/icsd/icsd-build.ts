import { createRandom, type Random } from '../random.js';
import {
  type CrystalSystem,
  crystalSystemOf,
  elementInfo,
  SPACE_GROUP_BY_NUMBER,
  type SpaceGroup,
} from './icsd-chemistry.js';
import {
  ELEMENT_PROTOTYPES,
  type Family,
  GENERAL_POSITION,
  type Ion,
  PROTOTYPES,
  type Prototype,
  radiusOf,
} from './icsd-prototypes.js';
import { type Cell, formatCount, mixSeed, pearsonSymbolOf, uniform, weighted } from './icsd-structure.js';

/**
 * The structure of an entry: which prototype (or which molecular formula on general positions), which ions on
 * which positions with which occupancies, at dataset time; the coordinates and displacements of its CIF, at
 * render time from a per-entry seed, so that nothing per site is stored.
 */

/** One row of the `_atom_site` loop, before coordinates: an ion on a position with an occupancy. */
export interface SiteRow {
  readonly element: string;
  readonly oxidation: number;
  readonly occupancy: number;
  /** Index of the position (rows with the same index share it). */
  readonly position: number;
}

/** A position of the asymmetric unit. */
export interface Position {
  readonly wyckoff: string;
  readonly multiplicity: number;
  /** Fractions (`'1/8'`) or free-parameter names. */
  readonly xyz: readonly [string, string, string];
}

/** What an entry's structure is made of; shared by every entry with the same composition and prototype. */
export interface Layout {
  readonly group: SpaceGroup;
  readonly z: number;
  readonly positions: readonly Position[];
  readonly rows: readonly SiteRow[];
  /** Free parameters of the positions and their reference values (random for molecular entries). */
  readonly params: Readonly<Record<string, number>>;
  readonly elements: readonly string[];
  readonly counts: readonly number[];
  readonly oxidation: readonly number[];
  readonly structured: string;
  readonly sum: string;
  readonly name: string;
  readonly weight: number;
  readonly weightText: string;
  readonly structureType: string;
  readonly mineral: readonly [string, string] | undefined;
  readonly wyckoffSequence: string;
  readonly pearsonSymbol: string;
  /** The reference cell, already scaled to the ions (before per-entry noise); undefined for molecular entries. */
  readonly cell: readonly number[] | undefined;
  /** Atoms per formula unit (occupancy-weighted). */
  readonly atoms: number;
}

function compositionOf(rows: readonly SiteRow[], positions: readonly Position[], z: number) {
  const elements: string[] = [];
  const oxidation: number[] = [];
  const totals: number[] = [];
  for (const row of rows) {
    let index = elements.indexOf(row.element);
    if (index < 0) {
      index = elements.length;
      elements.push(row.element);
      oxidation.push(row.oxidation);
      totals.push(0);
    }
    totals[index]! += positions[row.position]!.multiplicity * row.occupancy;
  }
  const counts = totals.map((t) => Number((t / z).toFixed(3)));
  return { elements, oxidation, counts };
}

function wyckoffSequence(positions: readonly Position[]): string {
  const counts = new Map<string, number>();
  for (const p of positions) counts.set(p.wyckoff, (counts.get(p.wyckoff) ?? 0) + 1);
  return [...counts.keys()]
    .sort((a, b) => (a < b ? 1 : -1))
    .map((letter) => (counts.get(letter) === 1 ? letter : `${letter}${counts.get(letter)}`))
    .join(' ');
}

function finish(
  group: SpaceGroup,
  z: number,
  positions: readonly Position[],
  rows: readonly SiteRow[],
  params: Readonly<Record<string, number>>,
  extra: { structured?: string; name?: string; structureType: string; cell: readonly number[] | undefined },
  minerals: Prototype['minerals'],
  formulaRows: readonly SiteRow[] = rows,
): Layout {
  const { elements, oxidation, counts } = compositionOf(formulaRows, positions, z);
  const sorted = elements.map((_, k) => k).sort((x, y) => (elements[x]! < elements[y]! ? -1 : 1));
  let weight = 0;
  let atoms = 0;
  elements.forEach((e, k) => {
    weight += counts[k]! * elementInfo(e).mass;
    atoms += counts[k]!;
  });
  const structured =
    extra.structured ??
    elements.map((e, k) => (counts[k] === 1 ? e : `${e}${formatCount(counts[k]!)}`)).join(' ');
  const sum = sorted.map((k) => `${elements[k]}${formatCount(counts[k]!)}`).join(' ');
  const cations = elements.filter((_, k) => oxidation[k]! >= 0);
  const anions = elements.filter((_, k) => oxidation[k]! < 0);
  const name =
    extra.name ??
    (anions.length === 0
      ? `${cations.map((e, k) => (k === 0 ? elementInfo(e).name : elementInfo(e).name.toLowerCase())).join(' ')}${
          cations.length > 1 ? ` (${counts.map(formatCount).join('/')})` : ''
        }`
      : [
          ...cations.map((e, k) => (k === 0 ? elementInfo(e).name : elementInfo(e).name.toLowerCase())),
          ...anions.map((e) => elementInfo(e).anionName ?? elementInfo(e).name.toLowerCase()),
        ].join(' '));
  let cellAtoms = 0;
  for (const p of positions) cellAtoms += p.multiplicity;
  return {
    group,
    z,
    positions,
    rows,
    params,
    elements,
    counts,
    oxidation,
    structured,
    sum,
    name,
    weight,
    weightText: weight.toFixed(2),
    structureType: extra.structureType,
    mineral: minerals?.[sum],
    wyckoffSequence: wyckoffSequence(positions),
    pearsonSymbol: pearsonSymbolOf(group, cellAtoms),
    cell: extra.cell,
    atoms,
  };
}

const ELEMENT_WEIGHTS = ELEMENT_PROTOTYPES.map((p) => p.weight);
const METALS = PROTOTYPES.filter((p) => p.kind === 'metal');
const METAL_WEIGHTS = METALS.map((p) => p.weight);
const IONIC = PROTOTYPES.filter((p) => p.kind === 'ionic');
const IONIC_WEIGHTS = IONIC.map((p) => p.weight);

type Disorder =
  | { kind: 'none' }
  | { kind: 'mix'; role: string; partner: Ion; fraction: number }
  | { kind: 'vacancy'; role: string; occupancy: number }
  | { kind: 'inversion'; degree: number };

function chooseIons(random: Random, family: Family, roles: readonly string[]): Map<string, Ion> | undefined {
  const chosen = new Map<string, Ion>();
  const used = new Set<string>();
  for (const role of roles) {
    const options = family[role]!.filter(([e]) => !used.has(e));
    if (options.length === 0) return undefined;
    const ion = random.pick(options);
    chosen.set(role, ion);
    used.add(ion[0]);
  }
  return chosen;
}

function chooseDisorder(random: Random, proto: Prototype, family: Family, ions: Map<string, Ion>): Disorder {
  if (proto.kind !== 'ionic' || !random.chance(0.14)) return { kind: 'none' };
  const kinds: Disorder['kind'][] = [];
  if (proto.mixRoles !== undefined) kinds.push('mix');
  if (proto.vacancyRoles !== undefined) kinds.push('vacancy');
  if (proto.inversion === true) kinds.push('inversion');
  if (kinds.length === 0) return { kind: 'none' };
  const kind = random.pick(kinds);
  if (kind === 'inversion') return { kind, degree: random.pick([0.1, 0.2, 0.4]) };
  if (kind === 'vacancy') {
    return { kind, role: random.pick(proto.vacancyRoles!), occupancy: random.pick([0.95, 0.9, 0.875]) };
  }
  const role = random.pick(proto.mixRoles!);
  const used = new Set([...ions.values()].map(([e]) => e));
  const partners = family[role]!.filter(([e]) => !used.has(e));
  if (partners.length === 0) return { kind: 'none' };
  return { kind, role, partner: random.pick(partners), fraction: random.pick([0.5, 0.6, 0.7, 0.8, 0.9]) };
}

function disorderKey(d: Disorder): string {
  switch (d.kind) {
    case 'mix':
      return `m${d.role}${d.partner[0]}${d.fraction}`;
    case 'vacancy':
      return `v${d.role}${d.occupancy}`;
    case 'inversion':
      return `i${d.degree}`;
    default:
      return '';
  }
}

const round3 = (v: number): number => Number(v.toFixed(3));

function protoLayout(proto: Prototype, ions: Map<string, Ion>, disorder: Disorder): Layout {
  const group = SPACE_GROUP_BY_NUMBER.get(proto.group);
  if (group === undefined) throw new Error(`icsd simulator: no space group ${proto.group}`);
  const rows: SiteRow[] = [];
  const byRole = new Map<string, SiteRow[]>();
  const add = (role: string, row: SiteRow): void => {
    let list = byRole.get(role);
    if (list === undefined) {
      list = [];
      byRole.set(role, list);
    }
    list.push(row);
  };
  proto.sites.forEach((s, position) => {
    const [element, oxidation] = ions.get(s.role)!;
    if (disorder.kind === 'mix' && disorder.role === s.role) {
      add(s.role, { element, oxidation, occupancy: disorder.fraction, position });
      const [pe, po] = disorder.partner;
      add(s.role, { element: pe, oxidation: po, occupancy: round3(1 - disorder.fraction), position });
    } else if (disorder.kind === 'vacancy' && disorder.role === s.role) {
      add(s.role, { element, oxidation, occupancy: disorder.occupancy, position });
    } else if (disorder.kind === 'inversion' && (s.role === 'A' || s.role === 'B')) {
      const other = ions.get(s.role === 'A' ? 'B' : 'A')!;
      const away = s.role === 'A' ? disorder.degree : disorder.degree / 2;
      add(s.role, { element, oxidation, occupancy: round3(1 - away), position });
      add(s.role, { element: other[0], oxidation: other[1], occupancy: round3(away), position });
    } else add(s.role, { element, oxidation, occupancy: 1, position });
  });
  // Rows in position order, so that shared positions are adjacent.
  for (const role of proto.roles) rows.push(...(byRole.get(role) ?? []));
  rows.sort((a, b) => a.position - b.position);
  // The formula lists the roles in order.
  const ordered: SiteRow[] = [];
  for (const role of proto.roles) ordered.push(...(byRole.get(role) ?? []));

  let cationRadius = 0;
  let referenceRadius = 0;
  const reference = proto.families[0]!;
  for (const role of proto.scaleRoles) {
    cationRadius += radiusOf(ions.get(role)!);
    referenceRadius += radiusOf(reference[role]![0]!);
  }
  const scale = cationRadius / referenceRadius;
  const cell = proto.cell.map((v, i) => (i < 3 ? v * scale : v));
  const positions = proto.sites.map((s) => ({
    wyckoff: s.wyckoff,
    multiplicity: s.multiplicity,
    xyz: s.xyz,
  }));
  return finish(
    group,
    proto.z,
    positions,
    rows,
    proto.params,
    { structureType: proto.structureType, cell },
    proto.minerals,
    ordered,
  );
}

/** Picks the structure of an inorganic entry (ionic, intermetallic or an element) from the main random stream. */
export function inorganicLayout(
  random: Random,
  kind: 'ionic' | 'intermetallic' | 'element',
  cache: Map<string, Layout>,
): Layout {
  const pool = kind === 'element' ? ELEMENT_PROTOTYPES : kind === 'intermetallic' ? METALS : IONIC;
  const weights =
    kind === 'element' ? ELEMENT_WEIGHTS : kind === 'intermetallic' ? METAL_WEIGHTS : IONIC_WEIGHTS;
  for (;;) {
    const proto = weighted(random, pool, weights);
    const family = random.pick(proto.families);
    const ions = chooseIons(random, family, proto.roles);
    if (ions === undefined) continue;
    const disorder = chooseDisorder(random, proto, family, ions);
    const key = `${proto.key}|${[...ions.values()].map(([e, o]) => `${e}${o}`).join(',')}|${disorderKey(disorder)}`;
    let layout = cache.get(key);
    if (layout === undefined) {
      layout = protoLayout(proto, ions, disorder);
      cache.set(key, layout);
    }
    return layout;
  }
}

/**
 * A molecular (metal-organic) structure: every atom of the formula unit on its own general position of `group`,
 * so Z is the order of the group.
 */
export function molecularLayout(
  group: SpaceGroup,
  elements: readonly string[],
  counts: readonly number[],
  structured: string,
  name: string,
): Layout {
  const general = GENERAL_POSITION.get(group.number);
  if (general === undefined) throw new Error(`icsd simulator: no general position for group ${group.number}`);
  const positions: Position[] = [];
  const rows: SiteRow[] = [];
  elements.forEach((element, k) => {
    for (let n = 0; n < counts[k]!; n++) {
      const i = positions.length;
      positions.push({ wyckoff: general, multiplicity: group.order, xyz: [`x${i}`, `y${i}`, `z${i}`] });
      rows.push({ element, oxidation: elementInfo(element).oxidation, occupancy: 1, position: i });
    }
  });
  return finish(
    group,
    group.order,
    positions,
    rows,
    {},
    { structured, name, structureType: '', cell: undefined },
    undefined,
  );
}

/** A per-entry cell: the layout's cell with small independent changes that keep the crystal system's ties. */
export function entryCell(random: Random, layout: Layout, system: CrystalSystem): Cell {
  const [a0, b0, c0, alpha0, beta0, gamma0] = layout.cell!;
  const jitter = (): number => 1 + uniform(random, -0.012, 0.012);
  const a = a0! * jitter();
  const round = (v: number, d: number): number => Number(v.toFixed(d));
  let b = b0! * jitter();
  let c = c0! * jitter();
  if (system === 'cubic') b = c = a;
  else if (system === 'tetragonal' || system === 'hexagonal' || system === 'trigonal') b = a;
  const angle = (v: number): number => (v === 90 || v === 120 ? v : round(v + uniform(random, -0.6, 0.6), 3));
  return {
    a: round(a, 4),
    b: round(b, 4),
    c: round(c, 4),
    alpha: system === 'triclinic' ? angle(alpha0!) : alpha0!,
    beta: system === 'triclinic' || system === 'monoclinic' ? angle(beta0!) : beta0!,
    gamma: system === 'triclinic' ? angle(gamma0!) : gamma0!,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Sites as the CIF writes them (render time)
// ---------------------------------------------------------------------------------------------------------

export interface AtomSite {
  readonly label: string;
  readonly element: string;
  readonly oxidation: number;
  readonly multiplicity: number;
  readonly wyckoff: string;
  /** Fractional coordinates as written (`0.2845(3)`, `0.25`, `0.3333`). */
  readonly x: string;
  readonly y: string;
  readonly z: string;
  readonly occupancy: number;
  /** Isotropic displacement B in Å² as written (`0.52(3)`), `'.'` when absent, `''` without a column. */
  readonly bIso: string;
  /** `U11 U22 U33 U12 U13 U23` (Å²) of the anisotropic loop, when the entry has one. */
  readonly u?: readonly string[];
}

const FRACTION_TEXT: Readonly<Record<string, string>> = {
  '0': '0',
  '1/2': '0.5',
  '1/4': '0.25',
  '3/4': '0.75',
  '1/8': '0.125',
  '3/8': '0.375',
  '5/8': '0.625',
  '7/8': '0.875',
  '1/3': '0.3333',
  '2/3': '0.6667',
  '1/6': '0.1667',
  '5/6': '0.8333',
};

/** A general coordinate away from 0, 1/4, 1/2 and 3/4, where the groups of molecular crystals have special positions. */
function generalCoordinate(random: Random): number {
  return random.int(0, 3) / 4 + 0.03 + random.next() * 0.19;
}

/**
 * The `_atom_site` rows of an entry: coordinates (free parameters moved a little from the prototype, written with
 * an uncertainty for experimental entries), displacements, and for some entries an anisotropic loop.
 */
export function renderSites(layout: Layout, seed: number, experimental: boolean): AtomSite[] {
  const random = createRandom(mixSeed(seed, 0xc00d));
  const written = new Map<string, string>();
  const coordinate = (token: string): string => {
    const fixed = FRACTION_TEXT[token];
    if (fixed !== undefined) return fixed;
    let text = written.get(token);
    if (text === undefined) {
      const base = layout.params[token];
      const value = base === undefined ? generalCoordinate(random) : base + uniform(random, -0.006, 0.006);
      text = experimental ? `${value.toFixed(4)}(${random.int(1, 9)})` : value.toFixed(5);
      written.set(token, text);
    }
    return text;
  };
  const system = crystalSystemOf(layout.group.number);
  const aniso =
    experimental &&
    system !== 'triclinic' &&
    system !== 'trigonal' &&
    system !== 'hexagonal' &&
    random.chance(0.2);
  const labels = new Map<string, number>();
  return layout.rows.map((row) => {
    const position = layout.positions[row.position]!;
    const n = (labels.get(row.element) ?? 0) + 1;
    labels.set(row.element, n);
    const [x, y, z] = position.xyz.map(coordinate) as [string, string, string];
    const hydrogen = row.element === 'H';
    const b = uniform(random, hydrogen ? 1.5 : 0.2, hydrogen ? 4 : 2.5);
    let bIso = experimental ? `${b.toFixed(2)}(${random.int(1, 9)})` : '';
    let u: string[] | undefined;
    if (aniso) {
      const base = b / (8 * Math.PI * Math.PI);
      const value = (): string => `${(base * uniform(random, 0.8, 1.2)).toFixed(4)}(${random.int(1, 9)})`;
      const u11 = value();
      const u22 = system === 'cubic' || system === 'tetragonal' ? u11 : value();
      const u33 = system === 'cubic' ? u11 : value();
      u = [u11, u22, u33, '0', '0', '0'];
      bIso = '.';
    }
    const site: AtomSite = {
      label: `${row.element}${n}`,
      element: row.element,
      oxidation: row.oxidation,
      multiplicity: position.multiplicity,
      wyckoff: position.wyckoff,
      x,
      y,
      z,
      occupancy: row.occupancy,
      bIso,
    };
    return u === undefined ? site : { ...site, u };
  });
}

/** Formula units and cell of a molecular entry: `z × atoms × 8–13 Å³`. */
export function molecularVolume(random: Random, layout: Layout): number {
  return layout.z * layout.atoms * uniform(random, 8, 13);
}
