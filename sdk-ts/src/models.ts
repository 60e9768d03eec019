/** What the SDK hands back and takes: results and options in camelCase (wire.ts converts from/to the API). */

export type Language = "python" | "javascript" | "go" | "rust";
export type Mode = "ephemeral" | "cached" | "checkpointed" | "branched" | "persistent";
export type ExecutionStatus = "running" | "completed" | "failed" | "timeout" | "restored";
export type SnapshotMode = "checkpointed" | "branched" | "merged";
export type MergeStrategy = "three_way" | "ours" | "theirs";
export type InstanceState = "starting" | "running" | "paused" | "stopped";
export type InstanceNetwork = "none" | "egress";
/** Free-form metadata, sent and returned as it is (its keys are not converted). */
export type Metadata = Record<string, unknown>;

/** Resource allocation of one execution; every field is optional. */
export interface Resources {
  cpuCores?: number;
  memoryMb?: number;
  timeoutMs?: number;
}

export interface ExecuteOptions {
  /** The program's main file. */
  code: string;
  language: Language;
  /** By default the server picks persistent with `instanceId`, branched with `branchId`, ephemeral otherwise. */
  mode?: Mode;
  resources?: Resources;
  envVars?: Record<string, string>;
  /** Input files, path → content (text is sent as UTF-8; base64-encoded for you). */
  files?: Record<string, string | Uint8Array>;
  /** Text fed to the program's standard input. */
  stdin?: string;
  /** Answer at once with `status: "running"`; follow it with `stream()`, fetch it with `getExecution()`. */
  async?: boolean;
  /** Keep stdin open for `stream().sendInput()` (end it with `{ eof: true }`). */
  interactive?: boolean;
  /** Run under a pseudo-terminal (resizable; stdout and stderr merged). */
  tty?: boolean;
  /** Run in this live context, keeping its state. */
  instanceId?: string;
  /** Start from this snapshot instead of a fresh context (persistent, checkpointed, branched). */
  snapshotId?: string;
  /** Run on this branch's head and, on success, advance it. */
  branchId?: string;
}

/** One execution as the server reports it. */
export interface Execution {
  /** The execution's id (`exec_...`); `executionId` is the same. */
  id: string;
  executionId: string;
  status: ExecutionStatus;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  mode: Mode;
  cached: boolean;
  cost: { compute: number; total: number };
  language: Language | null;
  /** Output was cut at the per-stream cap. */
  truncated: boolean;
  oomKilled: boolean;
  /** Why the execution failed, in words. */
  error: string | null;
  /** The execution a cache hit reused. */
  cachedFrom: string | null;
  buildCached: boolean;
  usage: { cpuSeconds: number; memoryPeakBytes: number };
  createdAt: Date | null;
  finishedAt: Date | null;
  /** The live context it ran in (persistent) or restored. */
  instanceId: string | null;
  /** The snapshot it produced (checkpointed, branched). */
  snapshotId: string | null;
  /** The branch whose head it advanced (branched). */
  branchId: string | null;
}

export interface Page {
  /** Every match, not only this page's. */
  total: number;
  limit: number;
  offset: number;
}

export interface PageOptions {
  limit?: number;
  offset?: number;
}

/** A captured live context: its processes, memory and files; `checksum` (sha256) is verified on restore. */
export interface Snapshot {
  snapshotId: string;
  executionId: string | null;
  mode: SnapshotMode;
  language: Language;
  parentId: string | null;
  instanceId: string | null;
  branchId: string | null;
  mergedFrom: string[] | null;
  createdAt: Date;
  sizeBytes: number;
  checksum: string;
  metadata: Metadata;
}

export interface SnapshotPage extends Page {
  snapshots: Snapshot[];
}

/** A snapshot restored into a new live context; run code in it with `instanceId`. */
export interface RestoredSnapshot {
  executionId: string;
  snapshotId: string;
  status: "restored";
  durationMs: number;
  instanceId: string;
}

export interface DeletedSnapshot {
  snapshotId: string;
  deleted: boolean;
  /** Branches whose head it was (only with `force`). */
  deletedBranches: string[];
  /** Snapshots now attached to its parent (only with `force`). */
  reparentedChildren: string[];
}

/** A line of snapshots; branched executions on it advance `headSnapshotId`. */
export interface Branch {
  branchId: string;
  snapshotId: string;
  headSnapshotId: string;
  parentBranch: string | null;
  createdAt: Date;
  updatedAt: Date;
  metadata: Metadata;
}

export interface BranchPage extends Page {
  branches: Branch[];
}

/** The snapshot merging branches' workspace files; its memory state starts fresh. */
export interface MergeResult {
  snapshotId: string;
  checksum: string;
  sizeBytes: number;
  branchIds: string[];
  strategy: MergeStrategy;
  baseSnapshotId: string | null;
  mergedFiles: number;
  /** The conflicts `ours`/`theirs` settled, as the server describes them (path, hunks). */
  resolvedConflicts: Record<string, unknown>[];
  memoryState: "fresh";
  note: string;
  createdAt: Date;
}

export interface InstanceOptions {
  /** Required unless `snapshotId`. */
  language?: Language;
  /** Start from this snapshot (its language, cpu, memory and workspace size). */
  snapshotId?: string;
  cpuCores?: number;
  memoryMb?: number;
  /** Size of its `/workspace` tmpfs (counted against `memoryMb`) in GiB. */
  diskGb?: number;
  /** The node has no GPUs: anything above 0 is refused with InsufficientResourcesError. */
  gpuCount?: number;
  /** Seconds after creation at which it is stopped, whatever its state. */
  ttl?: number;
  /** Stop it after the node's idle timeout (server default: true). */
  autoStop?: boolean;
  metadata?: Metadata;
  /** `egress` only on nodes that allow it, and only for fresh instances. */
  network?: InstanceNetwork;
}

export interface InstanceResources {
  cpuCores: number;
  memoryMb: number;
  diskGb: number;
  gpuCount: number;
}

/** One state transition of an instance; `fromState` is null for its creation. */
export interface InstanceEvent {
  fromState: InstanceState | null;
  toState: InstanceState;
  reason: string;
  at: Date;
}

/** `ssh` (`ssh://root@host:port`) and `http` (service name → URL), only those that exist. */
export interface InstanceEndpoints {
  ssh?: string;
  http?: Record<string, string>;
}

/** A live context managed on its own; `events` (last 20 transitions) is null in list pages. */
export interface Instance {
  instanceId: string;
  state: InstanceState;
  language: Language;
  endpoints: InstanceEndpoints;
  resources: InstanceResources;
  ttl: number | null;
  autoStop: boolean;
  snapshotId: string | null;
  network: InstanceNetwork;
  stoppedReason: string | null;
  metadata: Metadata;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date | null;
  events: InstanceEvent[] | null;
}

export interface InstancePage extends Page {
  instances: Instance[];
}

/** How to log in: `ssh -i key -p port username@host`; check `fingerprint` on first connect. */
export interface SshAccess {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  fingerprint: string;
  sshUrl: string;
}

export interface ExposedService {
  name: string;
  port: number;
  /** Reaches the service; carries its access token as `?token=`. */
  url: string;
}

export interface PortForward {
  localPort: number;
  remotePort: number;
  bindAddress: string;
}

/** Files and bytes moved by a copy or an upload. */
export interface CopyResult {
  files: number;
  bytes: number;
}

export interface CopyOptions {
  /** upload: node's files root → instance; download: instance → node's files root. */
  direction: "upload" | "download";
  /** Relative to the node's files root (FAAS_FILES_ROOT). */
  localPath: string;
  /** Relative to the instance's /workspace. */
  remotePath: string;
}

export interface SyncOptions {
  /** Directory relative to the node's files root. */
  localDir: string;
  /** Directory relative to /workspace. */
  remoteDir: string;
  exclude?: string[];
  /** Also bring changes made in the instance back. */
  bidirectional?: boolean;
}

export interface SyncResult {
  uploaded: string[];
  downloaded: string[];
  deletedRemote: string[];
  deletedLocal: string[];
  unchanged: string[];
  /** Changed on both sides since the last sync; left as they are. */
  conflicts: string[];
  transferred: number;
  deleted: number;
  bytes: number;
}

/** A development environment inside an instance, reached through the node's proxy. */
export interface DevEnvironment {
  url: string;
  type: "jupyter" | "vnc" | "vscode";
  /** Jupyter's token. */
  token: string | null;
  /** The VNC password. */
  password: string | null;
}

export interface UsageReport {
  periodStart: Date;
  periodEnd: Date;
  executions: {
    totalCount: number;
    successfulCount: number;
    failedCount: number;
    cpuSeconds: number;
    memoryGbSeconds: number;
    byMode: Record<Mode, number>;
  };
  storage: { snapshotsCreated: number; totalGbStored: number };
  network: { ingressGb: number; egressGb: number };
  costs: {
    computeCost: number;
    storageCost: number;
    networkCost: number;
    totalCost: number;
    creditsRemaining: number;
  };
}

export interface CurrentUsage {
  currentBalance: number;
  pendingCharges: number;
  rateLimitRemaining: number;
  storageUsedBytes: number;
  activeExecutions: number;
}

/** A piece of the program's output. */
export interface OutputEvent {
  type: "output";
  executionId: string;
  stream: "stdout" | "stderr";
  data: string;
}

/** Progress of a long execution, from 0 to 1. */
export interface ProgressEvent {
  type: "progress";
  executionId: string;
  progress: number | null;
  message: string | null;
}

/** The execution finished; the last event of a stream. */
export interface CompletedEvent {
  type: "completed";
  executionId: string;
  exitCode: number | null;
}

/**
 * The execution failed or could not be streamed (the stream's last event), or, with `final: false`,
 * the server refused one of this stream's commands (input, resize).
 */
export interface ErrorEvent {
  type: "error";
  executionId: string;
  error: string;
  final: boolean;
}

export type StreamEvent = OutputEvent | ProgressEvent | CompletedEvent | ErrorEvent;
