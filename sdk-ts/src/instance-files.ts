/** Files of instances: tar upload and download, copies with the node's files root, and sync. */

import type { HttpClient } from "./http.js";
import type { CopyOptions, CopyResult, SyncOptions, SyncResult } from "./models.js";
import { packFiles, unpackFiles, type FileMap } from "./tar.js";
import { copyBody, parseCopyResult, parseSyncResult, syncBody } from "./wire-resources.js";

const TAR = "application/x-tar";

export class InstanceFiles {
  constructor(private readonly http: HttpClient) {}

  /**
   * Write files under a directory of the instance's /workspace (created if missing).
   *
   * @param files - Path relative to `path` → content (text is written as UTF-8).
   * @throws ConflictError - The instance is not running.
   */
  upload(instanceId: string, files: FileMap, options: { path?: string } = {}): Promise<CopyResult> {
    return this.uploadTar(instanceId, packFiles(files), options);
  }

  /** Extract a tar archive (plain or compressed) under a directory of /workspace. */
  async uploadTar(instanceId: string, archive: Uint8Array, options: { path?: string } = {}): Promise<CopyResult> {
    const spec = {
      method: "PUT" as const,
      path: ["instances", instanceId, "files"],
      query: { path: options.path },
      bytes: { data: archive, contentType: TAR },
    };
    return parseCopyResult(await this.http.json(spec));
  }

  /**
   * The regular files of a file or directory of /workspace, by path relative to it
   * (the whole workspace by default).
   */
  async download(instanceId: string, path = ""): Promise<Record<string, Uint8Array>> {
    return unpackFiles(await this.downloadTar(instanceId, path));
  }

  /** A tar of a file or directory of /workspace, with its directories, modes and symlinks. */
  downloadTar(instanceId: string, path = ""): Promise<Uint8Array> {
    return this.http.bytes({ method: "GET", path: ["instances", instanceId, "files"], query: { path } });
  }

  /** Copy a file or directory between the node's files root and the instance's /workspace. */
  async copy(instanceId: string, options: CopyOptions): Promise<CopyResult> {
    const json = copyBody(options);
    return parseCopyResult(await this.http.json({ method: "POST", path: ["instances", instanceId, "copy"], json }));
  }

  /** Send what changed since the last sync (and bring changes back if `bidirectional`). */
  async sync(instanceId: string, options: SyncOptions): Promise<SyncResult> {
    const json = syncBody(options);
    return parseSyncResult(await this.http.json({ method: "POST", path: ["instances", instanceId, "sync"], json }));
  }
}
