/** The word lists the simulated dataset draws titles, authors, journals, minerals … from. */

export const AUTHORS: readonly string[] = [
  'Müller, K.',
  'Ångström, A.',
  'Żółć, P.',
  'Smith, J.R.',
  'Nakamura, T.',
  'Dvořák, J.',
  'Sørensen, O.',
  'García-López, M.',
  'Öztürk, E.',
  'Lévy, F.',
  'Schröder, H.-J.',
  "O'Keeffe, M.",
  'Chen, X.',
  'Wang, L.',
  'Kowalski, A.',
  'Petrov, I.V.',
  'Johansson, B.',
  'Rossi, G.',
  'Dubois, C.',
  'Brown, I.D.',
  'Hoppe, R.',
  'Kanatzidis, M.G.',
  'Rosseinsky, M.J.',
  'Cava, R.J.',
  'Jansen, M.',
  'Schnick, W.',
  'Poeppelmeier, K.R.',
  'Tanaka, H.',
  'Kim, S.-J.',
  'Nguyễn, V.A.',
  'Şahin, B.',
  'Fjellvåg, H.',
  'Černý, R.',
  'Pöttgen, R.',
  'Jeitschko, W.',
  'von Schnering, H.G.',
  'Zhang, Y.',
  'Li, J.',
  'Kumar, R.',
  'Ivanova, E.',
  'Øster, L.',
  'Łukasiewicz, W.',
];

/** Journal, ASTM code. */
export const JOURNALS: readonly (readonly [string, string])[] = [
  ['Acta Crystallographica, Section B: Structural Science', 'ASBSDK'],
  ['Acta Crystallographica, Section C: Crystal Structure Communications', 'ACSCEE'],
  ['Journal of Solid State Chemistry', 'JSSCBI'],
  ['Journal of Solid State Chemistry', 'JSSCBI'],
  ['Zeitschrift für Kristallographie - Crystalline Materials', 'ZKCMAJ'],
  ['Zeitschrift für anorganische und allgemeine Chemie', 'ZAACAB'],
  ['Inorganic Chemistry', 'INOCAJ'],
  ['Inorganic Chemistry', 'INOCAJ'],
  ['Journal of Alloys and Compounds', 'JALCEU'],
  ['Materials Research Bulletin', 'MRBUAC'],
  ['Chemistry of Materials', 'CMATEX'],
  ['Dalton Transactions', 'DTARAF'],
  ['European Journal of Inorganic Chemistry', 'EJICFO'],
  ['Journal of the American Chemical Society', 'JACSAT'],
  ["Comptes Rendus Hebdomadaires des Séances de l'Académie des Sciences", 'COREAF'],
  ['Monatshefte für Chemie', 'MOCMB7'],
];

export const THEORY_JOURNALS: readonly (readonly [string, string])[] = [
  ['Physical Review B', 'PRBMDO'],
  ['Physical Review Materials', 'PRMHAR'],
  ['Computational Materials Science', 'CMMSEM'],
  ['npj Computational Materials', 'NCMPAF'],
];

const JOURNAL_ASTM: ReadonlyMap<string, string> = new Map([...JOURNALS, ...THEORY_JOURNALS]);

/** DOI prefix and journal abbreviation used in the DOIs of a journal (`10.1021`, `ic`). */
const JOURNAL_DOI: ReadonlyMap<string, readonly [string, string]> = new Map([
  ['Acta Crystallographica, Section B: Structural Science', ['10.1107', 'S']],
  ['Acta Crystallographica, Section C: Crystal Structure Communications', ['10.1107', 'S']],
  ['Journal of Solid State Chemistry', ['10.1016', 'j.jssc']],
  ['Zeitschrift für Kristallographie - Crystalline Materials', ['10.1515', 'zkri']],
  ['Zeitschrift für anorganische und allgemeine Chemie', ['10.1002', 'zaac']],
  ['Inorganic Chemistry', ['10.1021', 'ic']],
  ['Journal of Alloys and Compounds', ['10.1016', 'j.jallcom']],
  ['Materials Research Bulletin', ['10.1016', 'j.materresbull']],
  ['Chemistry of Materials', ['10.1021', 'cm']],
  ['Dalton Transactions', ['10.1039', 'DT']],
  ['European Journal of Inorganic Chemistry', ['10.1002', 'ejic']],
  ['Journal of the American Chemical Society', ['10.1021', 'ja']],
  ['Monatshefte für Chemie', ['10.1007', 'BF']],
  ['Physical Review B', ['10.1103', 'PhysRevB']],
  ['Physical Review Materials', ['10.1103', 'PhysRevMaterials']],
  ['Computational Materials Science', ['10.1016', 'j.commatsci']],
  ['npj Computational Materials', ['10.1038', 's41524']],
]);

/**
 * A bare DOI for an article of a journal of the dataset (`10.1021/ic.2016.00865`, `10.1107/S0108768112345678`),
 * or `''` for a journal without DOIs.
 */
export function doiFor(journal: string, year: number, serial: number): string {
  const scheme = JOURNAL_DOI.get(journal);
  if (scheme === undefined) return '';
  const [prefix, abbreviation] = scheme;
  const digits = String(serial).padStart(5, '0');
  if (abbreviation === 'S') return `${prefix}/S${String(year).slice(2)}0876${digits}`;
  if (abbreviation === 'BF') return `${prefix}/BF0${digits}`;
  if (abbreviation.startsWith('PhysRev')) return `${prefix}/${abbreviation}.${(serial % 110) + 1}.${digits}`;
  return `${prefix}/${abbreviation}.${year}.${digits}`;
}

/** The ASTM code of a journal of the dataset (`_citation_journal_id_ASTM`). */
export function journalAstm(journal: string): string {
  return JOURNAL_ASTM.get(journal) ?? '?';
}

export const STRUCTURE_TYPES: readonly string[] = [
  'NaCl',
  'CsCl',
  'Sphalerite-ZnS(cF8)',
  'Wurtzite-ZnS(2H)',
  'Spinel-Al2MgO4',
  'Perovskite-CaTiO3',
  'Perovskite-GdFeO3',
  'Rutile-TiO2',
  'Fluorite-CaF2',
  'Corundum-Al2O3',
  'NiAs',
  'Pyrite-FeS2',
  'Olivine-Mg2SiO4',
  'Delafossite-CuFeO2',
  'K2NiF4',
  'ThCr2Si2',
  'Cu3Au',
  'Laves(cub)-MgCu2',
  'Garnet-Al2Ca3Si3O12',
  'Scheelite-CaWO4',
  'Ilmenite-FeTiO3',
  'CdI2',
  'MoS2',
  'alpha-NaFeO2',
];

/** Mineral name, mineral group. */
export const MINERALS: readonly (readonly [string, string])[] = [
  ['Periclase', 'Periclase'],
  ['Rutile', 'Rutile'],
  ['Anatase', ''],
  ['Spinel', 'Spinel'],
  ['Perovskite', 'Perovskite'],
  ['Halite', 'Halite'],
  ['Sylvite', 'Halite'],
  ['Fluorite', 'Fluorite'],
  ['Corundum', 'Corundum'],
  ['Hematite', 'Corundum'],
  ['Magnetite', 'Spinel'],
  ['Wurtzite', 'Wurtzite'],
  ['Sphalerite', 'Sphalerite'],
  ['Pyrite', 'Pyrite'],
  ['Galena', 'Galena'],
  ['Cuprite', ''],
  ['Zincite', 'Wurtzite'],
  ['Cassiterite', 'Rutile'],
  ['Baddeleyite', ''],
  ['Ilmenite', 'Corundum'],
  ['Forsterite', 'Olivine'],
  ['Scheelite', 'Scheelite'],
  ['Åkermanite', 'Melilite'],
  ['Gehlenite', 'Melilite'],
  ['Nickeline', 'Nickeline'],
  ['Béhierite', ''],
];

type TitleTemplate = (name: string, formula: string) => string;

export const INORGANIC_TITLES: readonly TitleTemplate[] = [
  (n) => `Crystal structure of ${n}`,
  (_, f) => `The crystal structure of ${f}`,
  (_, f) => `Refinement of the crystal structure of ${f}`,
  (_, f) => `Neutron powder diffraction study of ${f}`,
  (_, f) => `Synthesis, crystal structure and magnetic properties of ${f}`,
  (_, f) => `Über die Kristallstruktur von ${f}`,
  (_, f) => `Röntgenographische Untersuchung von ${f}`,
  (_, f) => `Étude structurale de ${f} à basse température`,
  (_, f) => `High-pressure polymorph of ${f}`,
  (n) => `Single-crystal X-ray study of ${n}`,
];

export const METALORGANIC_TITLES: readonly TitleTemplate[] = [
  (n) => `Synthesis and structure of ${n}`,
  (_, f) => `A porous coordination polymer: ${f}`,
  (n) => `Crystal structure of ${n}`,
  (_, f) => `Hydrothermal synthesis of ${f}`,
];

export const THEORY_TITLES: readonly TitleTemplate[] = [
  (n) => `Ab initio prediction of ${n} polymorphs`,
  (_, f) => `Density functional study of ${f}`,
  (_, f) => `High-throughput search for stable ${f} phases`,
];

export const TEMPERATURES: readonly string[] = [
  '293',
  '293',
  '293',
  '295',
  '295',
  '298',
  '100',
  '150',
  '4.2',
  '10',
  '573',
];
export const PRESSURES: readonly string[] = ['1000', '5300', '12000', '25000'];
export const HYDRATES: readonly string[] = ['', 'monohydrate', 'dihydrate', 'trihydrate', 'tetrahydrate'];
export const FRACTIONS: readonly number[] = [0.5, 0.25, 0.75, 0.8, 0.2, 1.5];
