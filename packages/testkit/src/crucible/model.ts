import { createHash } from 'node:crypto';
import { createRandom, type Random } from '../random.js';
import type { BlobStore, BlobWriter, SimBlob } from './blobs.js';
import { type JsonObject, mfid, naiveIso, TINY_PNG_B64 } from './util.js';

/** A user of the simulated Crucible (spec §4.4, §15.4). */
export interface CrucibleSimUser {
  /** Integer primary key. */
  readonly id: number;
  /** v1 `orcid`, v2 `unique_id`: an ORCID for people, an MFID for service accounts. */
  readonly orcid: string;
  username: string | null;
  firstName: string;
  lastName: string;
  email: string | null;
  lblEmail: string | null;
  employeeNumber: string | null;
  /** `null` for users created by `POST /users` (they have not fetched a key yet). */
  apiKey: string | null;
  admin: boolean;
  serviceAccount: boolean;
  /** Access groups the user is in: the personal one (the ORCID), project ids, added groups. */
  readonly groups: Set<string>;
  keyCreatedMs: number;
}

export interface CrucibleSimProject {
  readonly id: number;
  readonly projectId: string;
  organization: string;
  title: string | null;
  status: string | null;
  leadOrcid: string | null;
  leadEmail: string | null;
  leadName: string | null;
  metadata: JsonObject | null;
  creationMs: number;
  modificationMs: number;
}

export interface CrucibleSimInstrument {
  readonly id: number;
  readonly uniqueId: string;
  name: string;
  manufacturer: string | null;
  model: string | null;
  owner: string | null;
  location: string | null;
  description: string | null;
  instrumentType: string | null;
  otherId: string | null;
  otherIdSource: string | null;
  metadata: JsonObject | null;
  creationMs: number;
  modificationMs: number;
}

export interface AclEntry {
  read: boolean;
  write: boolean;
}

/** A dataset record: the union of the v1 (§4.1) and v2 (§15.4) fields. */
export interface CrucibleSimDataset {
  readonly id: number;
  /** Creation order; "newest first" is descending `seq`. */
  readonly seq: number;
  readonly uniqueId: string;
  datasetName: string | null;
  description: string | null;
  public: boolean;
  ownerOrcid: string;
  projectId: string | null;
  instrumentName: string | null;
  measurement: string | null;
  dataType: string | null;
  dataFormat: string | null;
  sessionName: string | null;
  sourceFolder: string | null;
  timestamp: string | null;
  fileToUpload: string | null;
  sha256FileToUpload: string | null;
  size: number | null;
  creationMs: number;
  modificationMs: number;
  /** Lowercased keyword keys (see the keyword table). */
  keywords: string[];
  metadata: JsonObject | null;
  /** Extra access-group entries (the defaults come from owner, project and instrument). */
  acl: Map<string, AclEntry> | undefined;
}

export interface CrucibleSimSample {
  readonly id: number;
  readonly seq: number;
  readonly uniqueId: string;
  sampleName: string | null;
  sampleType: string | null;
  description: string | null;
  ownerOrcid: string;
  projectId: string | null;
  public: boolean;
  timestamp: string | null;
  creationMs: number;
  modificationMs: number;
  metadata: JsonObject | null;
}

/** A file record (v1 associated file §4.9, v2 File §15.4). */
export interface CrucibleSimFile {
  readonly id: number;
  readonly mfid: string;
  readonly datasetId: string;
  filename: string;
  size: number | null;
  sha256: string | null;
  /** `mf-storage-prod/<dsid>/<name>` once ingested. */
  storagePath: string | null;
  /** The object in the upload bucket this record was made from (`api-uploads/…`), if any. */
  uploadObject: string | null;
  storageBackend: string;
  accessNote: string | null;
  creationMs: number;
}

export interface CrucibleSimThumbnail {
  readonly id: number;
  readonly datasetId: string;
  name: string;
  b64: string;
}

/** pycrucible's list of ingestion classes (spec §8). */
export const INGESTION_CLASSES = [
  'ApiUploadIngestor',
  'AFMIngestor',
  'TitanXSessionIngestor',
  'Team05SessionIngestor',
  'SimpleTiledImageScopeFoundryH5Ingestor',
  'BioGlowIngestor',
  'QSpleemSVRampIngestor',
  'QSpleemImageIngestor',
  'QSpleemARRESEKIngestor',
  'QSpleemARRESMMIngestor',
  'CanonCaptureScopeFoundryH5Ingestor',
  'SingleSpecScopeFoundryH5Ingestor',
  'HyperspecScopeFoundryH5Ingestor',
  'HyperspecSweepScopeFoundryH5Ingestor',
  'ToupcamLiveScopeFoundryH5Ingestor',
  'CLSyncRasterScanIngestor',
  'CLHyperspecIngestor',
  'SpinbotSpecLineIngestor',
  'SpinbotCameraCaptureIngestor',
  'SpinbotPhotoRunIngestor',
  'InSituPlIngestor',
  'CziIngestor',
  'DigitalMicrographIngestor',
  'SerIngestor',
  'BcfIngestor',
  'EmdIngestor',
  'SpinbotSpecRunIngestor',
  'ImageIngestor',
] as const;

/**
 * What auto-detection picks by file extension when no `ingestion_class` is given. `ApiUploadIngestor` is never
 * auto-detected (§17.4), so a generic file ends `not supported`. The extension table itself is [I].
 */
export const AUTO_DETECT: Readonly<Record<string, string>> = {
  h5: 'SimpleTiledImageScopeFoundryH5Ingestor',
  dm3: 'DigitalMicrographIngestor',
  dm4: 'DigitalMicrographIngestor',
  ser: 'SerIngestor',
  bcf: 'BcfIngestor',
  emd: 'EmdIngestor',
  czi: 'CziIngestor',
  jpg: 'ImageIngestor',
  jpeg: 'ImageIngestor',
  png: 'ImageIngestor',
  tif: 'ImageIngestor',
  tiff: 'ImageIngestor',
};

/** Terminal statuses a test can force (plus `stuck`: no worker, the request stays `requested`). */
export type IngestionOutcome =
  | 'complete'
  | 'failed'
  | 'not supported'
  | 'file not found'
  | 'file too large'
  | 'stuck';

export interface ProcessingRequest {
  readonly id: number;
  readonly kind: 'ingest' | 'scicat';
  readonly api: 'v1' | 'v2';
  readonly datasetId: string;
  readonly fileMfid: string | null;
  readonly fileToUpload: string | null;
  ingestionClass: string | null;
  readonly overwriteData: boolean;
  readonly createdMs: number;
  readonly outcome: IngestionOutcome;
  readonly errorMessage: string | null;
  /** Set by an admin PATCH: the timer no longer drives the status. */
  manualStatus: string | null;
  timeCompleted: string | null;
  githash: string | null;
  /** Whether the terminal effects (copy to production, dataset updates) were applied. */
  settled: boolean;
}

export interface UploadSession {
  readonly uploadId: string;
  readonly datasetId: string;
  readonly filename: string;
  readonly objectName: string;
  readonly size: number;
  readonly declaredSha256: string;
  readonly createdMs: number;
  readonly writer: BlobWriter;
  blob: SimBlob | undefined;
  /** The file record made by `complete`. */
  fileMfid: string | null;
  chunkPuts: number;
  probes: number;
  state: 'active' | 'expired' | 'cancelled';
  /** Serialises concurrent PUTs on one session. */
  lock: Promise<unknown>;
}

/** The mutable state of one simulator (rebuilt by `reset()`). */
export interface CrucibleState {
  random: Random;
  users: CrucibleSimUser[];
  projects: Map<string, CrucibleSimProject>;
  /** Members besides the lead, by project id. */
  members: Map<string, Set<string>>;
  instruments: CrucibleSimInstrument[];
  datasets: CrucibleSimDataset[];
  datasetById: Map<string, CrucibleSimDataset>;
  samples: CrucibleSimSample[];
  sampleById: Map<string, CrucibleSimSample>;
  /** dataset id → sample ids. */
  datasetSamples: Map<string, Set<string>>;
  /** sample id → dataset ids. */
  sampleDatasets: Map<string, Set<string>>;
  sampleChildren: Map<string, Set<string>>;
  sampleParents: Map<string, Set<string>>;
  datasetChildren: Map<string, Set<string>>;
  datasetParents: Map<string, Set<string>>;
  /** lowercase key → keyword. */
  keywords: Map<string, { id: number; keyword: string; count: number }>;
  files: Map<string, CrucibleSimFile>;
  filesByDataset: Map<string, CrucibleSimFile[]>;
  thumbnails: Map<string, CrucibleSimThumbnail[]>;
  /** The upload bucket `crucible-uploads`: object name → bytes. */
  uploadBucket: Map<string, SimBlob>;
  /** The production bucket: `mf-storage-prod/<dsid>/<name>` → bytes. */
  production: Map<string, SimBlob>;
  requests: Map<number, ProcessingRequest>;
  sessions: Map<string, UploadSession>;
  groupIds: Map<string, number>;
  next: {
    user: number;
    project: number;
    instrument: number;
    dataset: number;
    sample: number;
    file: number;
    thumbnail: number;
    keyword: number;
    request: number;
    group: number;
  };
}

const MEASUREMENTS = [
  ['HAADF-STEM image', 'titanx', 'dm4', 'Digital Micrograph file'],
  ['thin film carrier image', 'photobox', 'jpg', 'JPEG image'],
  ['X-ray diffraction', 'Beamline 12.3.2', 'h5', 'ScopeFoundry H5 file'],
  ['4D-STEM', 'team05', 'emd', 'EMD file'],
  ['AFM topography', 'hip_microscope', 'h5', 'ScopeFoundry H5 file'],
  ['photoluminescence', 'photobox', 'h5', 'ScopeFoundry H5 file'],
  ['molecular dynamics', null, 'lammps', 'LAMMPS input'],
] as const;
const KEYWORDS = [
  'HAADF',
  'STEM',
  'perovskite',
  'thin film',
  'XRD',
  'AFM',
  'photoluminescence',
  '4D-STEM',
  'EELS',
  'tomography',
  'MoS2',
  'graphene',
];

/** Base of generated creation times: 2026-01-05T08:00:00Z. */
const BASE_MS = Date.UTC(2026, 0, 5, 8, 0, 0);

/** How many of the oldest generated datasets carry files (keeps 20,000-dataset simulators cheap). */
export const DATASETS_WITH_FILES = 120;

export interface SeedOptions {
  seed: number;
  datasets: number;
  blobs: BlobStore;
}

/** The API key of a seeded user: deterministic per seed and username. */
export function apiKey(seed: number, username: string): string {
  return `crk_${createHash('sha256').update(`crucible-sim:${seed}:${username}`).digest('hex').slice(0, 40)}`;
}

/**
 * Builds the seeded state: users `admin` (admin), `demo`, `outsider` and the admin service account
 * `ingest-worker`; projects `DEMO-0001` (lead demo), `MFP08540` (lead admin, demo a member), `OUTSIDE-01` (lead
 * outsider), `10k_perovskites`; five instruments; `count` datasets (by index i, i % 10: 0–3 demo/DEMO-0001, 4 demo/
 * MFP08540, 5–6 admin/MFP08540 with 6 public, 7–9 outsider/OUTSIDE-01 with 9 public); up to 12 samples with links.
 */
export function seedState({ seed, datasets: count, blobs }: SeedOptions): CrucibleState {
  const random = createRandom(seed);
  const state: CrucibleState = {
    random,
    users: [],
    projects: new Map(),
    members: new Map(),
    instruments: [],
    datasets: [],
    datasetById: new Map(),
    samples: [],
    sampleById: new Map(),
    datasetSamples: new Map(),
    sampleDatasets: new Map(),
    sampleChildren: new Map(),
    sampleParents: new Map(),
    datasetChildren: new Map(),
    datasetParents: new Map(),
    keywords: new Map(),
    files: new Map(),
    filesByDataset: new Map(),
    thumbnails: new Map(),
    uploadBucket: new Map(),
    production: new Map(),
    requests: new Map(),
    sessions: new Map(),
    groupIds: new Map(),
    next: {
      user: 1,
      project: 1,
      instrument: 36,
      dataset: 120_001,
      sample: 5001,
      file: 9001,
      thumbnail: 701,
      keyword: 1,
      request: 201,
      group: 11,
    },
  };
  const user = (
    username: string,
    orcid: string,
    firstName: string,
    lastName: string,
    admin: boolean,
    serviceAccount = false,
  ): CrucibleSimUser => {
    const u: CrucibleSimUser = {
      id: state.next.user++ + 40,
      orcid,
      username,
      firstName,
      lastName,
      email: serviceAccount ? null : `${username}@example.org`,
      lblEmail: serviceAccount ? null : `${username}@lbl.gov`,
      employeeNumber: serviceAccount ? null : String(100_000 + state.next.user * 17),
      apiKey: apiKey(seed, username),
      admin,
      serviceAccount,
      groups: new Set([orcid]),
      keyCreatedMs: BASE_MS - 86_400_000,
    };
    state.users.push(u);
    return u;
  };
  const admin = user('admin', '0000-0002-1825-0097', 'Ada', 'Admin', true);
  const demo = user('demo', '0000-0001-2345-6789', 'Dee', 'Demo', false);
  const outsider = user('outsider', '0000-0003-1415-9265', 'Otto', 'Outsider', false);
  user('ingest-worker', mfid(random, BASE_MS), 'ingest', 'worker', true, true);

  const project = (projectId: string, title: string, lead: CrucibleSimUser, members: CrucibleSimUser[]) => {
    state.projects.set(projectId, {
      id: state.next.project++,
      projectId,
      organization: 'Molecular Foundry',
      title,
      status: 'active',
      leadOrcid: lead.orcid,
      leadEmail: lead.email,
      leadName: `${lead.firstName} ${lead.lastName}`,
      metadata: null,
      creationMs: BASE_MS - 30 * 86_400_000,
      modificationMs: BASE_MS - 30 * 86_400_000,
    });
    state.members.set(projectId, new Set(members.map((m) => m.orcid)));
    lead.groups.add(projectId);
    for (const m of members) m.groups.add(projectId);
  };
  project('DEMO-0001', 'Demo perovskite films', demo, []);
  project('MFP08540', 'Atomic-resolution imaging of 2D materials', admin, [demo]);
  project('OUTSIDE-01', 'Someone else’s project', outsider, []);
  project('10k_perovskites', 'High-throughput perovskites', admin, []);

  const instrument = (
    name: string,
    location: string,
    owner: string,
    type: string,
    manufacturer: string | null,
  ) =>
    state.instruments.push({
      id: state.next.instrument++,
      uniqueId: mfid(random, BASE_MS - 400 * 86_400_000),
      name,
      manufacturer,
      model: null,
      owner,
      location,
      description: null,
      instrumentType: type,
      otherId: null,
      otherIdSource: null,
      metadata: null,
      creationMs: BASE_MS - 400 * 86_400_000,
      modificationMs: BASE_MS - 400 * 86_400_000,
    });
  instrument('titanx', 'Building 72', 'NCEM', 'TEM', 'FEI');
  instrument('team05', 'Building 72', 'NCEM', 'TEM', 'FEI');
  instrument('photobox', 'Building 67', 'Inorganic Facility', 'camera', 'Canon');
  instrument('hip_microscope', 'Building 67', 'Imaging Facility', 'AFM', 'Bruker');
  instrument('Beamline 12.3.2', 'ALS', 'ALS', 'XRD', null);

  const keywordEntry = (text: string) => {
    const key = text.toLowerCase();
    let entry = state.keywords.get(key);
    if (!entry) {
      entry = { id: state.next.keyword++, keyword: text, count: 0 };
      state.keywords.set(key, entry);
    }
    return entry;
  };

  for (let i = 0; i < count; i++) {
    const r = i % 10;
    const owner = r <= 4 ? demo : r <= 6 ? admin : outsider;
    const projectId = r <= 3 ? 'DEMO-0001' : r <= 6 ? 'MFP08540' : 'OUTSIDE-01';
    const isPublic = r === 6 || r === 9;
    const [measurement, instrumentName, format, dataType] = MEASUREMENTS[
      i % MEASUREMENTS.length
    ] as (typeof MEASUREMENTS)[number];
    const creationMs = BASE_MS + i * 7 * 60_000 + (i % 13) * 1000;
    const uniqueId = mfid(random, creationMs);
    const name = `${measurement} ${String(i + 1).padStart(5, '0')}`;
    const ds: CrucibleSimDataset = {
      id: state.next.dataset++,
      seq: i + 1,
      uniqueId,
      datasetName: name,
      description: i % 4 === 0 ? `Generated dataset ${i + 1}` : null,
      public: isPublic,
      ownerOrcid: owner.orcid,
      projectId,
      instrumentName,
      measurement,
      dataType,
      dataFormat: format,
      sessionName: `2026-01-${String(5 + (Math.floor(i / 200) % 20)).padStart(2, '0')}-${i % 2 === 0 ? 'am' : 'pm'}`,
      sourceFolder: instrumentName ? `/mnt/${instrumentName.replace(/\s+/g, '_')}/data` : null,
      timestamp: new Date(creationMs - 3_600_000).toISOString().replace('.000Z', '+00:00'),
      fileToUpload: null,
      sha256FileToUpload: null,
      size: null,
      creationMs,
      modificationMs: creationMs,
      keywords: [],
      metadata:
        i % 3 === 0
          ? {
              instrument: { name: instrumentName, voltage_kV: 300, mode: i % 2 ? 'TEM' : 'STEM' },
              operator: owner.username,
              tags: ['generated', measurement],
              run: i + 1,
            }
          : null,
      acl: undefined,
    };
    const nKeywords = 1 + (i % 3);
    for (let k = 0; k < nKeywords; k++) {
      const entry = keywordEntry(KEYWORDS[(i * 5 + k * 3) % KEYWORDS.length] as string);
      const key = entry.keyword.toLowerCase();
      if (!ds.keywords.includes(key)) {
        ds.keywords.push(key);
        entry.count += 1;
      }
    }
    state.datasets.push(ds);
    state.datasetById.set(uniqueId, ds);
    if (i < DATASETS_WITH_FILES && i % 4 !== 3) {
      const base = `${name.replace(/[^A-Za-z0-9]+/g, '_')}.${format}`;
      const names = i % 8 === 0 ? [base, 'notes.md'] : [base];
      let total = 0;
      for (const [n, fname] of names.entries()) {
        const blob = blobs.generatedSync(
          seed * 7919 + i * 31 + n,
          1024 + ((i * 7919 + n * 104_729) % (48 * 1024)),
        );
        const storagePath = `mf-storage-prod/${uniqueId}/${fname}`;
        const uploadObject = `api-uploads/${uniqueId}/${fname}`;
        state.uploadBucket.set(uploadObject, blob);
        state.production.set(storagePath, blob);
        const file: CrucibleSimFile = {
          id: state.next.file++,
          mfid: mfid(random, creationMs + 1000),
          datasetId: uniqueId,
          filename: `crucible-uploads/${uploadObject}`,
          size: blob.size,
          sha256: blob.sha256,
          storagePath,
          uploadObject,
          storageBackend: 'gcs',
          accessNote: null,
          creationMs: creationMs + 1000,
        };
        state.files.set(file.mfid, file);
        const list = state.filesByDataset.get(uniqueId) ?? [];
        list.push(file);
        state.filesByDataset.set(uniqueId, list);
        total += blob.size;
        if (n === 0) {
          ds.fileToUpload = `api-uploads/${fname}`;
          ds.sha256FileToUpload = blob.sha256;
        }
      }
      ds.size = total;
    }
    if (i < DATASETS_WITH_FILES && i % 5 === 0) {
      state.thumbnails.set(uniqueId, [
        { id: state.next.thumbnail++, datasetId: uniqueId, name: `${name} preview.png`, b64: TINY_PNG_B64 },
      ]);
    }
    if (i % 10 === 1) {
      const parent = state.datasets[i - 1] as CrucibleSimDataset;
      link(state.datasetChildren, state.datasetParents, parent.uniqueId, uniqueId);
    }
  }

  const sampleCount = Math.min(12, Math.max(4, Math.ceil(count / 4)));
  for (let i = 0; i < sampleCount; i++) {
    const r = i % 4;
    const owner = r <= 1 ? demo : r === 2 ? admin : outsider;
    const projectId = r === 0 ? 'DEMO-0001' : r <= 2 ? 'MFP08540' : 'OUTSIDE-01';
    const creationMs = BASE_MS - (sampleCount - i) * 3_600_000;
    const s: CrucibleSimSample = {
      id: state.next.sample++,
      seq: i + 1,
      uniqueId: mfid(random, creationMs),
      sampleName: `${['MoS2 flake', 'perovskite film', 'Au nanorods', 'graphene on SiO2'][i % 4]} ${i + 1}`,
      sampleType: ['flake', 'thin film', 'nanoparticles', 'substrate'][i % 4] as string,
      description: null,
      ownerOrcid: owner.orcid,
      projectId,
      public: i === 2,
      timestamp: naiveIso(creationMs),
      creationMs,
      modificationMs: creationMs,
      metadata: i % 2 === 0 ? { growth: { method: 'CVD', temperature_C: 650 + i } } : null,
    };
    state.samples.push(s);
    state.sampleById.set(s.uniqueId, s);
  }
  // Parent → child: 0 → 4 → 8, 0 → 1 (same-project chains), outsider's 3 → 7.
  const sid = (n: number) => state.samples[n]?.uniqueId;
  for (const [p, c] of [
    [0, 4],
    [4, 8],
    [0, 1],
    [3, 7],
  ] as const) {
    const parent = sid(p);
    const child = sid(c);
    if (parent && child) link(state.sampleChildren, state.sampleParents, parent, child);
  }
  // Sample ↔ dataset: datasets linked to samples of the same owner/project bucket.
  for (let i = 0; i < Math.min(count, 48); i++) {
    const r = i % 10;
    const bucket = r <= 3 ? 0 : r <= 6 ? 1 : 3;
    const candidates = state.samples.filter((_, n) => n % 4 === bucket);
    const sample = candidates[Math.floor(i / 10) % Math.max(1, candidates.length)];
    const ds = state.datasets[i];
    if (sample && ds) link(state.datasetSamples, state.sampleDatasets, ds.uniqueId, sample.uniqueId);
  }
  return state;
}

/** Adds `a → b` to a forward and a backward index; `false` when it existed. */
export function link(
  forward: Map<string, Set<string>>,
  backward: Map<string, Set<string>>,
  a: string,
  b: string,
): boolean {
  const out = forward.get(a) ?? new Set<string>();
  const existed = out.has(b);
  out.add(b);
  forward.set(a, out);
  const back = backward.get(b) ?? new Set<string>();
  back.add(a);
  backward.set(b, back);
  return !existed;
}

export function unlink(
  forward: Map<string, Set<string>>,
  backward: Map<string, Set<string>>,
  a: string,
  b: string,
): boolean {
  const existed = forward.get(a)?.delete(b) ?? false;
  backward.get(b)?.delete(a);
  return existed;
}
