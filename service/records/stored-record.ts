import type { FhirResource } from "./resource-validation";
import type { RecordCategory } from "./record-category";

/** One version of a record, decrypted. Addresses are checksummed. */
export interface StoredRecord {
  type: string;
  id: string;
  /** Starts at 1 and grows by one per update; `resource.meta.versionId` is the same number as a string. */
  versionId: number;
  /** ISO 8601 instant, equal to `resource.meta.lastUpdated`. */
  lastUpdated: string;
  /** The patient's account; null for directory data (record-category.ts DIRECTORY). */
  patient: string | null;
  custodian: string;
  /** The category bit (docs/architecture.md §4), or 255 (DIRECTORY_BIT) for directory data. */
  category: number;
  /** The FHIR resource with `id` and `meta.versionId`/`meta.lastUpdated` set by the server. */
  resource: FhirResource;
}

/** What a resource is, before anything is stored: the check the HTTP layer can run before deciding. */
export interface RecordDescription {
  type: string;
  category: RecordCategory;
  /** The validated body, unchanged. */
  resource: FhirResource;
}

export interface UpdateOptions {
  /** The version the caller last saw (If-Match); a different current version fails with 412 `version-conflict`. */
  ifMatch?: number;
}

export interface UpdateResult {
  record: StoredRecord;
  /** True when the update created the record (FHIR update-as-create): answer 201 rather than 200. */
  created: boolean;
}

/** `_lastUpdated` bounds of a search (FHIR date search prefixes ge/gt/le/lt), as instants. */
export interface LastUpdatedRange {
  /** Inclusive lower bound. */
  from?: Date;
  /** Exclusive upper bound. */
  before?: Date;
}

/** A page of a search: `count` matches from `offset` (FHIR `_count`, and the `_offset` of a `next` link). */
export interface Page {
  offset?: number;
  count?: number;
}
