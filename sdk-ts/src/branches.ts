/** The Branch API: lines of snapshots that branched executions advance, and their merges. */

import type { HttpClient } from "./http.js";
import type {
  Branch,
  BranchPage,
  ExecuteOptions,
  Execution,
  MergeResult,
  MergeStrategy,
  Metadata,
  PageOptions,
} from "./models.js";
import { withoutUnset } from "./wire.js";
import { parseBranch, parseBranchPage, parseMergeResult } from "./wire-resources.js";

export interface CreateBranchOptions {
  /** The snapshot to branch from. */
  snapshotId?: string;
  /** Branch from this branch (at its head unless `snapshotId`). */
  parentBranch?: string;
  metadata?: Metadata;
}

export interface ListBranchesOptions extends PageOptions {
  snapshotId?: string;
  parentBranch?: string;
}

export interface MergeOptions {
  /** `three_way` (default) refuses conflicting edits; `ours` lets the first branch win them, `theirs` the last. */
  strategy?: MergeStrategy;
  metadata?: Metadata;
}

type Execute = (options: ExecuteOptions) => Promise<Execution>;

export class Branches {
  constructor(
    private readonly http: HttpClient,
    private readonly run: Execute,
  ) {}

  /** A branch whose head starts at a snapshot; `execute(branchId, ...)` advances it. */
  async create(options: CreateBranchOptions): Promise<Branch> {
    const json = withoutUnset({
      snapshot_id: options.snapshotId,
      parent_branch: options.parentBranch,
      metadata: options.metadata,
    });
    return parseBranch(await this.http.json({ method: "POST", path: ["branches"], json }));
  }

  /** This tenant's branches, newest first. */
  async list(options: ListBranchesOptions = {}): Promise<BranchPage> {
    const query = {
      snapshot_id: options.snapshotId,
      parent_branch: options.parentBranch,
      limit: options.limit,
      offset: options.offset,
    };
    return parseBranchPage(await this.http.json({ method: "GET", path: ["branches"], query }));
  }

  /** @throws NotFoundError - There is no such branch for this key. */
  async get(branchId: string): Promise<Branch> {
    return parseBranch(await this.http.json({ method: "GET", path: ["branches", branchId] }));
  }

  /**
   * Run code on the branch's head; on success the branch advances to the execution's snapshot.
   *
   * @throws ConflictError - The branch moved on meanwhile.
   */
  execute(branchId: string, options: Omit<ExecuteOptions, "branchId">): Promise<Execution> {
    return this.run({ ...options, branchId });
  }

  /**
   * Merge branches' workspace files into a new snapshot; its memory state starts fresh.
   *
   * @throws ConflictError - A three-way merge met conflicts (paths and hunks in `details.conflicts`).
   */
  async merge(branchIds: readonly string[], options: MergeOptions = {}): Promise<MergeResult> {
    const json = withoutUnset({ branch_ids: [...branchIds], strategy: options.strategy, metadata: options.metadata });
    return parseMergeResult(await this.http.json({ method: "POST", path: ["branches", "merge"], json }));
  }
}
