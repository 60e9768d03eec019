/** The wire format of snapshots, branches, instances (and their access and files) and usage. */

import type {
  Branch,
  BranchPage,
  CopyOptions,
  CopyResult,
  CurrentUsage,
  DeletedSnapshot,
  DevEnvironment,
  ExposedService,
  Instance,
  InstanceEndpoints,
  InstanceEvent,
  InstanceNetwork,
  InstanceOptions,
  InstancePage,
  InstanceState,
  Language,
  MergeResult,
  MergeStrategy,
  Mode,
  PortForward,
  RestoredSnapshot,
  Snapshot,
  SnapshotMode,
  SnapshotPage,
  SshAccess,
  SyncOptions,
  SyncResult,
  UsageReport,
} from "./models.js";
import {
  bool,
  date,
  list,
  metadata,
  num,
  object,
  optDate,
  optNum,
  optStr,
  str,
  strings,
  withoutUnset,
  type Json,
} from "./wire.js";

function page(body: Json): { total: number; limit: number; offset: number } {
  return { total: num(body, "total"), limit: num(body, "limit"), offset: num(body, "offset") };
}

/** A `SnapshotOut` object. */
export function parseSnapshot(value: unknown): Snapshot {
  const body = object(value);
  const mergedFrom = body["merged_from"];
  return {
    snapshotId: str(body, "snapshot_id"),
    executionId: optStr(body, "execution_id"),
    mode: str(body, "mode") as SnapshotMode,
    language: str(body, "language") as Language,
    parentId: optStr(body, "parent_id"),
    instanceId: optStr(body, "instance_id"),
    branchId: optStr(body, "branch_id"),
    mergedFrom: Array.isArray(mergedFrom) ? mergedFrom.map(String) : null,
    createdAt: date(body, "created_at"),
    sizeBytes: num(body, "size_bytes"),
    checksum: str(body, "checksum"),
    metadata: metadata(body),
  };
}

export function parseSnapshotPage(value: unknown): SnapshotPage {
  const body = object(value);
  return { snapshots: list(body, "snapshots").map(parseSnapshot), ...page(body) };
}

/** A `RestoreOut` object. */
export function parseRestoredSnapshot(value: unknown): RestoredSnapshot {
  const body = object(value);
  return {
    executionId: str(body, "execution_id"),
    snapshotId: str(body, "snapshot_id"),
    status: "restored",
    durationMs: num(body, "duration_ms"),
    instanceId: str(body, "instance_id"),
  };
}

/** A `SnapshotDeletedOut` object. */
export function parseDeletedSnapshot(value: unknown): DeletedSnapshot {
  const body = object(value);
  return {
    snapshotId: str(body, "snapshot_id"),
    deleted: bool(body, "deleted"),
    deletedBranches: strings(body, "deleted_branches"),
    reparentedChildren: strings(body, "reparented_children"),
  };
}

/** A `BranchOut` object. */
export function parseBranch(value: unknown): Branch {
  const body = object(value);
  return {
    branchId: str(body, "branch_id"),
    snapshotId: str(body, "snapshot_id"),
    headSnapshotId: str(body, "head_snapshot_id"),
    parentBranch: optStr(body, "parent_branch"),
    createdAt: date(body, "created_at"),
    updatedAt: date(body, "updated_at"),
    metadata: metadata(body),
  };
}

export function parseBranchPage(value: unknown): BranchPage {
  const body = object(value);
  return { branches: list(body, "branches").map(parseBranch), ...page(body) };
}

/** A `MergeOut` object. */
export function parseMergeResult(value: unknown): MergeResult {
  const body = object(value);
  return {
    snapshotId: str(body, "snapshot_id"),
    checksum: str(body, "checksum"),
    sizeBytes: num(body, "size_bytes"),
    branchIds: strings(body, "branch_ids"),
    strategy: str(body, "strategy") as MergeStrategy,
    baseSnapshotId: optStr(body, "base_snapshot_id"),
    mergedFiles: num(body, "merged_files"),
    resolvedConflicts: list(body, "resolved_conflicts").map((item) => object(item, "resolved_conflicts[]")),
    memoryState: "fresh",
    note: str(body, "note"),
    createdAt: date(body, "created_at"),
  };
}

/** An `InstanceIn` object holding only the fields given (`resources` only if one is). */
export function instanceBody(options: InstanceOptions): Json {
  const resources = withoutUnset({
    cpu_cores: options.cpuCores,
    memory_mb: options.memoryMb,
    disk_gb: options.diskGb,
    gpu_count: options.gpuCount,
  });
  return withoutUnset({
    language: options.language,
    snapshot_id: options.snapshotId,
    resources: Object.keys(resources).length > 0 ? resources : undefined,
    ttl: options.ttl,
    auto_stop: options.autoStop,
    metadata: options.metadata,
    network: options.network,
  });
}

function parseInstanceEvent(value: unknown): InstanceEvent {
  const body = object(value, "events[]");
  return {
    fromState: optStr(body, "from_state") as InstanceState | null,
    toState: str(body, "to_state") as InstanceState,
    reason: str(body, "reason"),
    at: date(body, "at"),
  };
}

function parseEndpoints(value: unknown): InstanceEndpoints {
  const body = object(value ?? {}, "endpoints");
  const endpoints: InstanceEndpoints = {};
  if (typeof body["ssh"] === "string") endpoints.ssh = body["ssh"];
  if (typeof body["http"] === "object" && body["http"] !== null) {
    endpoints.http = Object.fromEntries(Object.entries(body["http"] as Json).map(([name, url]) => [name, String(url)]));
  }
  return endpoints;
}

/** An `InstanceOut` (events null) or `InstanceDetailOut` object. */
export function parseInstance(value: unknown): Instance {
  const body = object(value);
  const resources = object(body["resources"], "resources");
  const events = body["events"];
  return {
    instanceId: str(body, "instance_id"),
    state: str(body, "state") as InstanceState,
    language: str(body, "language") as Language,
    endpoints: parseEndpoints(body["endpoints"]),
    resources: {
      cpuCores: num(resources, "cpu_cores"),
      memoryMb: num(resources, "memory_mb"),
      diskGb: num(resources, "disk_gb"),
      gpuCount: num(resources, "gpu_count"),
    },
    ttl: optNum(body, "ttl"),
    autoStop: bool(body, "auto_stop", true),
    snapshotId: optStr(body, "snapshot_id"),
    network: (optStr(body, "network") ?? "none") as InstanceNetwork,
    stoppedReason: optStr(body, "stopped_reason"),
    metadata: metadata(body),
    createdAt: date(body, "created_at"),
    updatedAt: date(body, "updated_at"),
    expiresAt: optDate(body, "expires_at"),
    events: Array.isArray(events) ? events.map(parseInstanceEvent) : null,
  };
}

export function parseInstancePage(value: unknown): InstancePage {
  const body = object(value);
  return { instances: list(body, "instances").map(parseInstance), ...page(body) };
}

/** An `SshAccessOut` object. */
export function parseSshAccess(value: unknown): SshAccess {
  const body = object(value);
  return {
    host: str(body, "host"),
    port: num(body, "port"),
    username: str(body, "username"),
    privateKey: str(body, "private_key"),
    fingerprint: str(body, "fingerprint"),
    sshUrl: str(body, "ssh_url"),
  };
}

export function parseExposedService(value: unknown): ExposedService {
  const body = object(value);
  return { name: str(body, "name"), port: num(body, "port"), url: str(body, "url") };
}

export function parsePortForward(value: unknown): PortForward {
  const body = object(value);
  return {
    localPort: num(body, "local_port"),
    remotePort: num(body, "remote_port"),
    bindAddress: str(body, "bind_address"),
  };
}

export function parsePortForwards(value: unknown): PortForward[] {
  return list(object(value), "forwards").map(parsePortForward);
}

export function copyBody(options: CopyOptions): Json {
  return { direction: options.direction, local_path: options.localPath, remote_path: options.remotePath };
}

export function parseCopyResult(value: unknown): CopyResult {
  const body = object(value);
  return { files: num(body, "files"), bytes: num(body, "bytes") };
}

export function syncBody(options: SyncOptions): Json {
  return withoutUnset({
    local_dir: options.localDir,
    remote_dir: options.remoteDir,
    exclude: options.exclude,
    bidirectional: options.bidirectional,
  });
}

export function parseSyncResult(value: unknown): SyncResult {
  const body = object(value);
  return {
    uploaded: strings(body, "uploaded"),
    downloaded: strings(body, "downloaded"),
    deletedRemote: strings(body, "deleted_remote"),
    deletedLocal: strings(body, "deleted_local"),
    unchanged: strings(body, "unchanged"),
    conflicts: strings(body, "conflicts"),
    transferred: num(body, "transferred"),
    deleted: num(body, "deleted"),
    bytes: num(body, "bytes"),
  };
}

export function parseDevEnvironment(value: unknown): DevEnvironment {
  const body = object(value);
  return {
    url: str(body, "url"),
    type: str(body, "type") as DevEnvironment["type"],
    token: optStr(body, "token"),
    password: optStr(body, "password"),
  };
}

/** A `UsageReportOut` object. */
export function parseUsageReport(value: unknown): UsageReport {
  const body = object(value);
  const executions = object(body["executions"], "executions");
  const storage = object(body["storage"], "storage");
  const network = object(body["network"], "network");
  const costs = object(body["costs"], "costs");
  const byMode = object(executions["by_mode"], "executions.by_mode");
  const modes: Mode[] = ["ephemeral", "cached", "checkpointed", "branched", "persistent"];
  return {
    periodStart: date(body, "period_start"),
    periodEnd: date(body, "period_end"),
    executions: {
      totalCount: num(executions, "total_count"),
      successfulCount: num(executions, "successful_count"),
      failedCount: num(executions, "failed_count"),
      cpuSeconds: num(executions, "cpu_seconds"),
      memoryGbSeconds: num(executions, "memory_gb_seconds"),
      byMode: Object.fromEntries(modes.map((mode) => [mode, optNum(byMode, mode) ?? 0])) as Record<Mode, number>,
    },
    storage: { snapshotsCreated: num(storage, "snapshots_created"), totalGbStored: num(storage, "total_gb_stored") },
    network: { ingressGb: num(network, "ingress_gb"), egressGb: num(network, "egress_gb") },
    costs: {
      computeCost: num(costs, "compute_cost"),
      storageCost: num(costs, "storage_cost"),
      networkCost: num(costs, "network_cost"),
      totalCost: num(costs, "total_cost"),
      creditsRemaining: num(costs, "credits_remaining"),
    },
  };
}

/** A `CurrentUsageOut` object. */
export function parseCurrentUsage(value: unknown): CurrentUsage {
  const body = object(value);
  return {
    currentBalance: num(body, "current_balance"),
    pendingCharges: num(body, "pending_charges"),
    rateLimitRemaining: num(body, "rate_limit_remaining"),
    storageUsedBytes: num(body, "storage_used_bytes"),
    activeExecutions: num(body, "active_executions"),
  };
}
