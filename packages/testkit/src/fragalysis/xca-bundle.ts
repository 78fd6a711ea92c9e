import { text, writeTarGz } from '../archives.js';

/** What goes into a test XCA bundle (issue 14: xca). */
export interface XcaBundleOptions {
  /** The target's title (`target_name` of `config.yaml`). */
  target: string;
  /** `version_number` of `meta_aligner.yaml`; the folder is `upload_<version>` (default 1). */
  version?: number;
  /** Leave out `meta_aligner.yaml` or `config.yaml` (bad bundles), or add files (paths under the tar root). */
  omit?: ReadonlyArray<'meta_aligner.yaml' | 'config.yaml'>;
  extra?: Readonly<Record<string, string | Uint8Array>>;
}

/**
 * A small XChemAlign upload bundle as a `.tar.gz` (spec §11.5): `upload_<n>/` with `config.yaml`,
 * `meta_aligner.yaml`, `assemblies.yaml` and a few data files. For tests and examples against the simulator.
 */
export function xcaBundle(options: XcaBundleOptions): Uint8Array<ArrayBuffer> {
  const version = options.version ?? 1;
  const dir = `upload_${version}`;
  const files: Record<string, string | Uint8Array> = {
    [`${dir}/config.yaml`]: `target_name: ${options.target}\nxca_git_info:\n  dirty: false\n  tag: 1.2.0\n`,
    [`${dir}/meta_aligner.yaml`]:
      `version_number: ${version}\nversion_dir: ${dir}\nprevious_version_dirs: []\n` +
      `${options.target}-x0001:\n  crystallographic_files:\n    xtal_pdb:\n      file: ${dir}/crystallographic_files/${options.target}-x0001/x0001.pdb\n`,
    [`${dir}/assemblies.yaml`]: 'assemblies: {}\n',
    [`${dir}/crystallographic_files/${options.target}-x0001/x0001.pdb`]: 'HEADER    TEST\nEND\n',
    ...options.extra,
  };
  for (const name of options.omit ?? []) delete files[`${dir}/${name}`];
  return new Uint8Array(
    writeTarGz(
      Object.entries(files).map(([path, data]) => ({
        path,
        data: typeof data === 'string' ? text(data) : data,
      })),
      Math.floor(Date.UTC(2026, 0, 1) / 1000),
    ),
  );
}
