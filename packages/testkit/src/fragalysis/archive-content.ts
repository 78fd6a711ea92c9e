import { type ArchiveFile, text } from '../archives.js';
import { createRandom } from '../random.js';
import type { FragalysisSimObservation } from './fragalysis-simulator.js';
import type { Build } from './state.js';

/** The files of a build's archive, with the §4.7 layout (the flags of the request choose what goes in). */
export function archiveFiles(build: Build, seed: number): ArchiveFile[] {
  const t = build.target;
  const f = build.flags;
  const aligned = (flag: string) => f.all_aligned_structures === true || f[flag] === true;
  const files: ArchiveFile[] = [];
  const errors: string[] = ['Param,Code,File not found when assembling download'];
  const add = (path: string, content: string | Uint8Array) =>
    files.push({ path, data: typeof content === 'string' ? text(content) : content });
  const missing = (param: string, code: string, path: string) => {
    add(`${path}_FILE_NOT_IN_UPLOAD`, '');
    errors.push(`${param},${code},${path}`);
  };
  const selected = t.observations.filter((o) => build.codes.length === 0 || build.codes.includes(o.code));
  const map = (o: FragalysisSimObservation, kind: string) => {
    const r = createRandom(seed * 1000 + o.id * 7 + kind.length);
    return Uint8Array.from({ length: 4096 }, () => r.int(0, 255));
  };
  for (const o of selected) {
    const dir = `aligned_files/${o.code}`;
    const pdb = `HEADER    ${o.code}\n${o.version && o.version > 1 ? `REMARK   VERSION ${o.version}\n` : ''}ATOM      1  CA  GLY A 300      10.000  10.000  10.000  1.00 20.00           C\nEND\n`;
    if (aligned('bound_file')) add(`${dir}/${o.code}.pdb`, pdb);
    if (aligned('apo_file')) add(`${dir}/${o.code}_apo.pdb`, pdb);
    if (aligned('apo_solv_file')) add(`${dir}/${o.code}_apo-solv.pdb`, pdb);
    if (aligned('apo_desolv_file')) add(`${dir}/${o.code}_apo-desolv.pdb`, pdb);
    if (aligned('ligand_pdb')) add(`${dir}/${o.code}_ligand.pdb`, pdb);
    if (aligned('ligand_sdf'))
      add(
        `${dir}/${o.code}_ligand.sdf`,
        `${o.code}\n  sim\n\n  0  0  0  0  0  0            999 V2000\nM  END\n$$$$\n`,
      );
    if (aligned('ligand_smiles')) add(`${dir}/${o.code}_ligand.smi`, `${o.smiles}\n`);
    if (aligned('sdf_info')) add(`${dir}/${o.code}.sdf`, `${o.code}\n  sim\n\nM  END\n$$$$\n`);
    if (f.event_file) {
      if (o.hasEventMap) add(`${dir}/${o.code}_event.ccp4`, map(o, 'event'));
      else missing('event_file', o.code, `${dir}/event_file`);
    }
    if (f.sigmaa_file) add(`${dir}/${o.code}_sigmaa.ccp4`, map(o, 'sigmaa'));
    if (f.diff_file) add(`${dir}/${o.code}_diff.ccp4`, map(o, 'diff'));
  }
  for (const xtal of [...new Set(selected.map((o) => o.xtal))]) {
    const dir = `crystallographic_files/${xtal}`;
    if (f.pdb_info) add(`${dir}/${xtal}.pdb`, `HEADER    ${xtal}\nEND\n`);
    if (f.cif_info) add(`${dir}/${xtal}.cif`, `data_${xtal}\n_cell.length_a 112.1\n`);
    if (f.mtz_info) add(`${dir}/${xtal}.mtz`, map(selected[0] as FragalysisSimObservation, `mtz${xtal}`));
    if (f.map_info)
      add(`${dir}/${xtal}_2fofc.map`, map(selected[0] as FragalysisSimObservation, `map${xtal}`));
  }
  if (f.single_sdf_file)
    add(`${t.title}_combined.sdf`, selected.map((o) => `${o.code}\n  sim\n\nM  END\n$$$$\n`).join(''));
  if (f.smiles_info || f.all_aligned_structures)
    add('smiles.smi', [...new Set(selected.map((o) => o.smiles))].map((s) => `${s},`).join(''));
  if (f.metadata_info) {
    const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
    const head = [
      'Code',
      'Long code',
      'Experiment code',
      'Compound code',
      'Smiles',
      'Centroid res',
      'Downloaded',
      'ConformerSites upload name',
      'CanonSites upload name',
      'CrystalformSites upload name',
      'Quatassemblies upload name',
      'Crystalforms upload name',
      'ConformerSites short tag',
      'CanonSites short tag',
      'CrystalformSites short tag',
      'Quatassemblies short tag',
      'Crystalforms short tag',
      'ConformerSites alias',
      'CanonSites alias',
      'CrystalformSites alias',
      'Quatassemblies alias',
      'Crystalforms alias',
      'Pose',
      '[Other] hit',
      'Main status',
      'GOOD count',
      'MEDIOCRE count',
      'BAD count',
      'RefinementResolution',
    ];
    const rows = t.observations.map((o, i) =>
      [
        quote(o.code),
        quote(o.longcode),
        quote(o.xtal),
        quote(o.compoundCode),
        quote(o.smiles),
        quote(`GLY_${300 + i}_A`),
        quote(selected.includes(o) ? 'True' : 'False'),
        quote('site_1'),
        quote('canon_1'),
        quote('xf_1'),
        quote('A'),
        quote('xtalform_1'),
        quote('A1'),
        quote('C1'),
        quote('X1'),
        quote('A'),
        quote('F1'),
        quote(''),
        quote(''),
        quote(''),
        quote(''),
        quote(''),
        quote(`P${i + 1}`),
        quote(i % 2 === 0 ? 'True' : 'False'),
        quote('Released'),
        String(i % 3),
        String((i + 1) % 2),
        '0',
        (1.5 + i / 10).toFixed(2),
      ].join(','),
    );
    add('metadata.csv', `${head.map(quote).join(',')}\n${rows.join('\n')}\n`);
  }
  if (f.trans_matrix_info) {
    for (const name of [
      'neighbourhood_transforms.yaml',
      'conformer_site_transforms.yaml',
      'reference_structure_transforms.yaml',
    ]) {
      add(name, `# ${name}\nA0001a: [[1,0,0,0],[0,1,0,0],[0,0,1,0]]\n`);
    }
  }
  if (f.extra_files) {
    add('extra_files_1/notes.txt', `Uploaded notes for ${t.title}\n`);
    if (f.soakdb_files) add('extra_files_1/soakdb_export.csv', 'CrystalName,CompoundSMILES\n');
  }
  if (f.yaml_files) add('yaml_files/upload_1/config.yaml', `target_name: ${t.title}\n`);
  if (f.pymol_scripts) add('scripts/pymol/load_all.py', '# PyMOL helper\n');
  if (f.compound_sets) add(`virtual_hits/${t.title}_set1.sdf`, 'virtual\n  sim\n\nM  END\n$$$$\n');
  if (f.readme) {
    add(
      'README.md',
      `# Fragalysis download\n\nRequest:\n\n${JSON.stringify(build.body)}\n\n## Files included\n\n${files.map((x) => `- /code/media/tmp/${x.path}`).join('\n')}\n`,
    );
  }
  add('errors.csv', `${errors.join('\n')}\n`);
  return files;
}
