import type { Access } from './access.js';
import type { Ctx, Includes } from './common.js';
import type {
  CrucibleSimDataset,
  CrucibleSimFile,
  CrucibleSimInstrument,
  CrucibleSimProject,
  CrucibleSimSample,
  CrucibleSimUser,
} from './model.js';
import type { CrucibleSimState } from './state.js';
import { naiveIso } from './util.js';

/** Serialisation of the records, v1 and v2 shapes. */
export function createSerializers(sim: CrucibleSimState & Access) {
  const { db, userByOrcid, instrumentByName, canRead, sampleRead, isMember } = sim;

  const userV1 = (u: CrucibleSimUser) => ({
    id: u.id,
    orcid: u.orcid,
    first_name: u.firstName,
    last_name: u.lastName,
    email: u.email,
    lbl_email: u.lblEmail,
    employee_number: u.employeeNumber,
  });
  const userV2 = (u: CrucibleSimUser, full: boolean) => ({
    id: u.id,
    unique_id: u.orcid,
    username: u.username,
    first_name: u.firstName,
    last_name: u.lastName,
    ...(full ? { email: u.email } : {}),
    is_service_account: u.serviceAccount,
  });
  const userOut = (ctx: Ctx, u: CrucibleSimUser, full = true) =>
    ctx.version === 'v1' ? userV1(u) : userV2(u, full);

  function projectOut(ctx: Ctx, p: CrucibleSimProject, withMetadata = false) {
    if (ctx.version === 'v1') {
      return {
        id: p.id,
        project_id: p.projectId,
        organization: p.organization,
        title: p.title,
        status: p.status,
        project_lead_email: p.leadEmail,
        project_lead_name: p.leadName,
      };
    }
    const lead = userByOrcid(p.leadOrcid);
    const member = isMember(ctx.user, p);
    return {
      project_id: p.projectId,
      organization: p.organization,
      title: p.title,
      status: p.status,
      project_lead_email: p.leadEmail,
      project_lead_orcid: p.leadOrcid,
      project_lead_username: lead?.username ?? null,
      lead: lead ? userV2(lead, member) : null,
      creation_time: naiveIso(p.creationMs),
      modification_time: naiveIso(p.modificationMs),
      ...(withMetadata && member ? { scientific_metadata: p.metadata } : {}),
    };
  }

  function instrumentOut(ctx: Ctx, i: CrucibleSimInstrument, withMetadata = false) {
    const base = {
      id: i.id,
      unique_id: i.uniqueId,
      instrument_name: i.name,
      manufacturer: i.manufacturer,
      model: i.model,
      owner: i.owner,
      location: i.location,
      description: i.description,
      instrument_type: i.instrumentType,
      other_id: i.otherId,
      other_id_source: i.otherIdSource,
    };
    if (ctx.version === 'v1') return base;
    return {
      ...base,
      resource_type: 'instrument',
      creation_time: naiveIso(i.creationMs),
      modification_time: naiveIso(i.modificationMs),
      ...(withMetadata ? { scientific_metadata: i.metadata } : {}),
    };
  }

  const metadataWrapperV1 = (ds: CrucibleSimDataset) =>
    ds.metadata === null ? null : { id: ds.id, dataset_id: ds.id, scientific_metadata: ds.metadata };

  const noIncludes: Includes = { metadata: false, links: false, owner: false };

  function datasetLinks(u: CrucibleSimUser, ds: CrucibleSimDataset) {
    const out: Array<Record<string, unknown>> = [];
    const add = (id: string, relationship: string) => {
      const other = db.datasetById.get(id);
      if (other && canRead(u, other))
        out.push({ unique_id: id, resource_type: 'dataset', name: other.datasetName, relationship });
    };
    for (const id of db.datasetParents.get(ds.uniqueId) ?? []) add(id, 'parent');
    for (const id of db.datasetChildren.get(ds.uniqueId) ?? []) add(id, 'child');
    for (const id of db.datasetSamples.get(ds.uniqueId) ?? []) {
      const s = db.sampleById.get(id);
      if (s && sampleRead(u, s))
        out.push({ unique_id: id, resource_type: 'sample', name: s.sampleName, relationship: 'associated' });
    }
    return out;
  }

  function sampleLinks(u: CrucibleSimUser, s: CrucibleSimSample) {
    const out: Array<Record<string, unknown>> = [];
    const add = (id: string, relationship: string) => {
      const other = db.sampleById.get(id);
      if (other && sampleRead(u, other))
        out.push({ unique_id: id, resource_type: 'sample', name: other.sampleName, relationship });
    };
    for (const id of db.sampleParents.get(s.uniqueId) ?? []) add(id, 'parent');
    for (const id of db.sampleChildren.get(s.uniqueId) ?? []) add(id, 'child');
    for (const id of db.sampleDatasets.get(s.uniqueId) ?? []) {
      const ds = db.datasetById.get(id);
      if (ds && canRead(u, ds))
        out.push({
          unique_id: id,
          resource_type: 'dataset',
          name: ds.datasetName,
          relationship: 'associated',
        });
    }
    return out;
  }

  function datasetOut(ctx: Ctx, ds: CrucibleSimDataset, inc: Includes = noIncludes): Record<string, unknown> {
    if (ctx.version === 'v1') {
      const out: Record<string, unknown> = {
        id: ds.id,
        unique_id: ds.uniqueId,
        dataset_name: ds.datasetName,
        public: ds.public,
        owner_user_id: userByOrcid(ds.ownerOrcid)?.id ?? null,
        owner_orcid: ds.ownerOrcid,
        project_id: ds.projectId,
        instrument_id: instrumentByName(ds.instrumentName)?.id ?? null,
        instrument_name: ds.instrumentName,
        measurement: ds.measurement,
        session_name: ds.sessionName,
        creation_time: naiveIso(ds.creationMs),
        data_format: ds.dataFormat,
        file_to_upload: ds.fileToUpload,
        size: ds.size,
        sha256_hash_file_to_upload: ds.sha256FileToUpload,
        source_folder: ds.sourceFolder,
        json_link: null,
      };
      // v1 double nesting: the whole metadata record (§4.1).
      if (inc.metadata) out.scientific_metadata = metadataWrapperV1(ds);
      return out;
    }
    const out: Record<string, unknown> = {
      unique_id: ds.uniqueId,
      resource_type: 'dataset',
      dataset_name: ds.datasetName,
      description: ds.description,
      measurement: ds.measurement,
      data_type: ds.dataType,
      data_format: ds.dataFormat,
      session_name: ds.sessionName,
      instrument_name: ds.instrumentName,
      project_id: ds.projectId,
      owner_orcid: ds.ownerOrcid,
      public: ds.public,
      size: ds.size,
      timestamp: ds.timestamp,
      creation_time: naiveIso(ds.creationMs),
      modification_time: naiveIso(ds.modificationMs),
      source_folder: ds.sourceFolder,
      deletion_request: null,
    };
    if (inc.metadata) out.scientific_metadata = ds.metadata;
    if (inc.links) out.links = datasetLinks(ctx.user, ds);
    if (inc.owner) {
      const owner = userByOrcid(ds.ownerOrcid);
      out.owner = owner ? userV2(owner, ctx.user.admin || owner === ctx.user) : null;
    }
    return out;
  }

  function sampleOut(ctx: Ctx, s: CrucibleSimSample, inc: Includes = noIncludes): Record<string, unknown> {
    const linked = [...(db.sampleDatasets.get(s.uniqueId) ?? [])]
      .map((id) => db.datasetById.get(id))
      .filter((d): d is CrucibleSimDataset => d !== undefined && canRead(ctx.user, d));
    if (ctx.version === 'v1') {
      return {
        id: s.id,
        unique_id: s.uniqueId,
        sample_name: s.sampleName,
        sample_type: s.sampleType,
        description: s.description,
        owner_orcid: s.ownerOrcid,
        owner_user_id: userByOrcid(s.ownerOrcid)?.id ?? null,
        project_id: s.projectId,
        date_created: s.timestamp,
        datasets: linked.map((d) => datasetOut(ctx, d)),
      };
    }
    const out: Record<string, unknown> = {
      unique_id: s.uniqueId,
      resource_type: 'sample',
      sample_name: s.sampleName,
      sample_type: s.sampleType,
      description: s.description,
      project_id: s.projectId,
      owner_orcid: s.ownerOrcid,
      public: s.public,
      timestamp: s.timestamp,
      creation_time: naiveIso(s.creationMs),
      modification_time: naiveIso(s.modificationMs),
      deletion_request: null,
      datasets: linked.map((d) => ({
        unique_id: d.uniqueId,
        dataset_name: d.datasetName,
        measurement: d.measurement,
      })),
    };
    if (inc.metadata) out.scientific_metadata = s.metadata;
    if (inc.links) out.links = sampleLinks(ctx.user, s);
    if (inc.owner) {
      const owner = userByOrcid(s.ownerOrcid);
      out.owner = owner ? userV2(owner, ctx.user.admin || owner === ctx.user) : null;
    }
    return out;
  }

  function fileOut(ctx: Ctx, f: CrucibleSimFile): Record<string, unknown> {
    if (ctx.version === 'v1') {
      return {
        id: f.id,
        dataset_id: db.datasetById.get(f.datasetId)?.id ?? null,
        filename: f.filename.replace(/^crucible-uploads\//, ''),
        size: f.size,
        sha256_hash: f.sha256,
        file_id: f.mfid,
      };
    }
    return {
      mfid: f.mfid,
      dataset_mfid: f.datasetId,
      filename: f.filename,
      storage_path: f.storagePath,
      size: f.size,
      sha256_hash: f.sha256,
      storage_backend: f.storageBackend,
      access_note: f.accessNote,
    };
  }

  const thumbnailOut = (t: { id: number; datasetId: string; name: string; b64: string }) => ({
    id: t.id,
    dataset_id: db.datasetById.get(t.datasetId)?.id ?? null,
    thumbnail_name: t.name,
    thumbnail_b64str: t.b64,
  });

  return {
    userV1,
    userV2,
    userOut,
    projectOut,
    instrumentOut,
    metadataWrapperV1,
    noIncludes,
    datasetLinks,
    sampleLinks,
    datasetOut,
    sampleOut,
    fileOut,
    thumbnailOut,
  };
}

export type Serializers = ReturnType<typeof createSerializers>;
