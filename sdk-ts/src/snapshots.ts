/** The Snapshot API: capture, list, restore and delete live contexts' snapshots. */

import type { HttpClient } from "./http.js";
import type {
  DeletedSnapshot,
  Metadata,
  PageOptions,
  RestoredSnapshot,
  Snapshot,
  SnapshotMode,
  SnapshotPage,
} from "./models.js";
import { withoutUnset } from "./wire.js";
import { parseDeletedSnapshot, parseRestoredSnapshot, parseSnapshot, parseSnapshotPage } from "./wire-resources.js";

export interface CreateSnapshotOptions {
  /** A persistent execution whose live context to capture. */
  executionId?: string;
  /** The live context to capture (give this or `executionId`). */
  instanceId?: string;
  /** Free-form, e.g. `{ name: "v1" }`. */
  metadata?: Metadata;
}

export interface ListSnapshotsOptions extends PageOptions {
  mode?: SnapshotMode;
  /** Only the children of this snapshot. */
  parentId?: string;
}

export class Snapshots {
  constructor(private readonly http: HttpClient) {}

  /**
   * Capture a live context (processes, memory and files) without stopping it.
   *
   * @throws ConflictError - The instance is stopped.
   */
  async create(options: CreateSnapshotOptions): Promise<Snapshot> {
    const json = withoutUnset({
      execution_id: options.executionId,
      instance_id: options.instanceId,
      metadata: options.metadata,
    });
    return parseSnapshot(await this.http.json({ method: "POST", path: ["snapshots"], json }));
  }

  /** This tenant's snapshots, newest first. */
  async list(options: ListSnapshotsOptions = {}): Promise<SnapshotPage> {
    const query = { mode: options.mode, parent_id: options.parentId, limit: options.limit, offset: options.offset };
    return parseSnapshotPage(await this.http.json({ method: "GET", path: ["snapshots"], query }));
  }

  /** @throws NotFoundError - There is no such snapshot for this key. */
  async get(snapshotId: string): Promise<Snapshot> {
    return parseSnapshot(await this.http.json({ method: "GET", path: ["snapshots", snapshotId] }));
  }

  /**
   * Restore a snapshot into a new live context; run code in it with `instanceId`.
   *
   * @throws ConflictError - Its content is corrupted (checksum mismatch); it is not restored.
   */
  async restore(snapshotId: string): Promise<RestoredSnapshot> {
    return parseRestoredSnapshot(await this.http.json({ method: "POST", path: ["snapshots", snapshotId, "restore"] }));
  }

  /**
   * Delete a snapshot permanently. With `force`, also the branches whose head it is; its children
   * are attached to its parent.
   *
   * @throws ConflictError - Branches or children still need it (`details.branches`, `details.children`).
   */
  async delete(snapshotId: string, options: { force?: boolean } = {}): Promise<DeletedSnapshot> {
    const query = options.force === true ? { force: true } : {};
    return parseDeletedSnapshot(await this.http.json({ method: "DELETE", path: ["snapshots", snapshotId], query }));
  }
}
