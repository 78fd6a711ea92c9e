import type { AtomSite } from './icsd-build.js';
import { symmetryOperations } from './icsd-chemistry.js';
import {
  formatStandardisedCell,
  type IcsdSimEntry,
  lastPageOf,
  spaceGroupOf,
  standardisedCellOf,
} from './icsd-dataset.js';
import { cellVolumeOf } from './icsd-structure.js';
import { journalAstm } from './icsd-vocabulary.js';

/** Which cell a CIF describes (`celltype`). */
export type IcsdCellType = 'experimental' | 'standardized';

export interface CifRenderOptions {
  /** The entry's `_atom_site` rows. */
  readonly sites: readonly AtomSite[];
  readonly cellType: IcsdCellType;
  readonly lineEnd: '\n' | '\r\n';
  readonly copyrightYear: number;
}

/** Quoted text, the way ICSD writes names and formulas: `'…'`, or `"…"` when the text has an apostrophe. */
function quoted(value: string): string {
  if (value === '') return '?';
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  // Never produced by the generated data (no value holds both quote characters).
  return `'${value.replace(/'/g, '\u2019')}'`;
}

/** A CIF value: bare when that is unambiguous, else quoted. */
function quote(value: string): string {
  if (/^[^\s'"_#$;[\]][^\s]*$/.test(value) && value !== '?' && value !== '.') return value;
  return quoted(value);
}

function typeSymbol(element: string, oxidation: number): string {
  return `${element}${Math.abs(oxidation)}${oxidation < 0 ? '-' : '+'}`;
}

/** Wraps a loop row after `breakAfter` values, as the 2025 files sometimes do. */
function loopRow(values: readonly string[], wrap: boolean, breakAfter: number): string[] {
  if (!wrap || values.length <= breakAfter) return [values.join(' ')];
  return [values.slice(0, breakAfter).join(' '), values.slice(breakAfter).join(' ')];
}

/**
 * Renders the CIF of an entry exactly as the simulated service sends it: a blank first line, the copyright
 * comment, one data block, and `#End of TTdata_<cc>-ICSD` followed by the line terminator.
 */
export function renderCif(entry: IcsdSimEntry, options: CifRenderOptions): string {
  const { sites, cellType, copyrightYear } = options;
  const modern = entry.cifDialect === 2025;
  const experimental = entry.contentType !== 'THERORETICAL_STRUCTURES';
  const cc = entry.collectionCode;
  const group = spaceGroupOf(entry);
  const lines: string[] = [
    '',
    `#(C) ${copyrightYear} by FIZ Karlsruhe - Leibniz Institute for Information Infrastructure.  All rights reserved.`,
    `data_${cc}-ICSD`,
    `_database_code_ICSD ${cc}`,
    `_audit_creation_date ${entry.recordingDate}`,
  ];
  if (entry.modificationDate !== entry.recordingDate) {
    lines.push(`_audit_update_record ${entry.modificationDate}`);
  }
  lines.push(
    `_chemical_name_systematic ${quoted(entry.chemicalName)}`,
    `_chemical_formula_structural ${quoted(entry.structuredFormula)}`,
    `_chemical_formula_sum ${quoted(entry.sumFormula)}`,
  );
  if (entry.mineralName !== '') lines.push(`_chemical_name_mineral ${quoted(entry.mineralName)}`);
  if (entry.structureType !== '') lines.push(`_chemical_name_structure_type ${quote(entry.structureType)}`);
  lines.push(`_exptl_crystal_density_diffrn ${entry.calculatedDensity}`);
  if (entry.measuredDensity !== '') lines.push(`_exptl_crystal_density_meas ${entry.measuredDensity}`);
  if (entry.temperature !== '') lines.push(`_diffrn_ambient_temperature ${entry.temperature}`);
  if (entry.pressure !== '') lines.push(`_diffrn_ambient_pressure ${Number(entry.pressure) * 1000}.`);
  if (!modern) {
    if (entry.title.length <= 70) lines.push(`_publ_section_title ${quoted(entry.title)}`);
    else lines.push('_publ_section_title', ';', entry.title, ';');
  }

  const withDoi = modern && entry.doi !== '';
  lines.push(
    'loop_',
    '_citation_id',
    '_citation_journal_full',
    '_citation_year',
    '_citation_journal_volume',
    '_citation_page_first',
    '_citation_page_last',
    '_citation_journal_id_ASTM',
  );
  if (withDoi) lines.push('_citation_doi');
  const citation = [
    'primary',
    quoted(entry.journal),
    String(entry.publicationYear),
    String(entry.volume),
    entry.page,
    lastPageOf(entry),
    journalAstm(entry.journal),
  ];
  if (withDoi) citation.push(entry.doi);
  lines.push(...loopRow(citation, modern, 3));
  if (modern) {
    lines.push('_citation_title', ';', entry.title, ';');
    lines.push('loop_', '_citation_author_citation_id', '_citation_author_name');
    for (const author of entry.authors) lines.push(`primary ${quoted(author)}`);
  } else {
    lines.push('loop_', '_publ_author_name');
    for (const author of entry.authors) lines.push(quoted(author));
  }

  let cell: string[];
  let volume: string;
  if (cellType === 'standardized') {
    const numbers = standardisedCellOf(entry);
    cell = formatStandardisedCell(numbers).split(' ');
    const [a, b, c, alpha, beta, gamma] = numbers;
    volume = cellVolumeOf(a, b, c, alpha, beta, gamma).toFixed(2);
  } else {
    cell = entry.cellParameters.split(' ');
    if (modern) cell = cell.map((v) => (v.endsWith('.') ? v.slice(0, -1) : v));
    volume = entry.cellVolume;
  }
  lines.push(
    `_cell_length_a ${cell[0]}`,
    `_cell_length_b ${cell[1]}`,
    `_cell_length_c ${cell[2]}`,
    `_cell_angle_alpha ${cell[3]}`,
    `_cell_angle_beta ${cell[4]}`,
    `_cell_angle_gamma ${cell[5]}`,
    `_cell_volume ${volume}`,
    `_cell_formula_units_Z ${entry.formulaUnitsPerCell}`,
  );
  if (modern) {
    lines.push(`_space_group_name_H-M_alt ${quoted(group.symbol)}`, `_space_group_IT_number ${group.number}`);
  } else {
    lines.push(
      `_symmetry_space_group_name_H-M ${quoted(group.symbol)}`,
      `_symmetry_Int_Tables_number ${group.number}`,
    );
  }
  if (entry.rValue !== '') lines.push(`_refine_ls_R_factor_all ${entry.rValue}`);

  lines.push(
    'loop_',
    modern ? '_space_group_symop_id' : '_symmetry_equiv_pos_site_id',
    modern ? '_space_group_symop_operation_xyz' : '_symmetry_equiv_pos_as_xyz',
  );
  symmetryOperations(group).forEach((op, i) => {
    lines.push(`${i + 1} '${op}'`);
  });

  lines.push('loop_', '_atom_type_symbol', '_atom_type_oxidation_number');
  const types = entry.elements
    .map((e, i) => [e, entry.oxidationStates[i]!] as const)
    .sort(([x], [y]) => (x < y ? -1 : 1));
  for (const [e, oxidation] of types) lines.push(`${typeSymbol(e, oxidation)} ${oxidation}`);

  const bColumn = experimental
    ? modern
      ? '_atom_site_U_iso_or_equiv'
      : '_atom_site_B_iso_or_equiv'
    : undefined;
  lines.push(
    'loop_',
    '_atom_site_label',
    '_atom_site_type_symbol',
    '_atom_site_symmetry_multiplicity',
    '_atom_site_Wyckoff_symbol',
    '_atom_site_fract_x',
    '_atom_site_fract_y',
    '_atom_site_fract_z',
  );
  if (bColumn !== undefined) lines.push(bColumn);
  lines.push('_atom_site_occupancy', '_atom_site_attached_hydrogens');
  for (const site of sites) {
    const values = [
      site.label,
      typeSymbol(site.element, site.oxidation),
      String(site.multiplicity),
      site.wyckoff,
      site.x,
      site.y,
      site.z,
    ];
    if (bColumn !== undefined) {
      if (site.bIso === '.') values.push('.');
      else if (modern) {
        const b = Number.parseFloat(site.bIso);
        const esd = /\((\d+)\)$/.exec(site.bIso)?.[1] ?? '1';
        values.push(`${(b / (8 * Math.PI * Math.PI)).toFixed(4)}(${esd})`);
      } else {
        values.push(site.bIso);
      }
    }
    const occupancy = site.occupancy === 1 ? (modern ? '1' : '1.') : String(site.occupancy);
    values.push(occupancy, '0');
    const row = values.join(' ');
    lines.push(...loopRow(values, modern && row.length > 56, 7));
  }
  if (sites.some((site) => site.u !== undefined)) {
    lines.push(
      'loop_',
      '_atom_site_aniso_label',
      '_atom_site_aniso_type_symbol',
      '_atom_site_aniso_U_11',
      '_atom_site_aniso_U_22',
      '_atom_site_aniso_U_33',
      '_atom_site_aniso_U_12',
      '_atom_site_aniso_U_13',
      '_atom_site_aniso_U_23',
    );
    for (const site of sites) {
      if (site.u === undefined) continue;
      lines.push([site.label, typeSymbol(site.element, site.oxidation), ...site.u].join(' '));
    }
  }
  lines.push(`#End of TTdata_${cc}-ICSD`);
  return lines.join(options.lineEnd) + options.lineEnd;
}
