/** The Instance API: live contexts managed on their own, and the ways into them. */

import type { HttpClient } from "./http.js";
import { InstanceFiles } from "./instance-files.js";
import type {
  DevEnvironment,
  ExecuteOptions,
  Execution,
  ExposedService,
  Instance,
  InstanceOptions,
  InstancePage,
  InstanceState,
  PageOptions,
  PortForward,
  SshAccess,
} from "./models.js";
import {
  instanceBody,
  parseDevEnvironment,
  parseExposedService,
  parseInstance,
  parseInstancePage,
  parsePortForward,
  parsePortForwards,
  parseSshAccess,
} from "./wire-resources.js";

type Execute = (options: ExecuteOptions) => Promise<Execution>;

export class Instances {
  /** Files of instances: upload, download, copy and sync. */
  readonly files: InstanceFiles;

  constructor(
    private readonly http: HttpClient,
    private readonly run: Execute,
  ) {
    this.files = new InstanceFiles(http);
  }

  /**
   * Start a live context, fresh or from a snapshot; it answers once its sandbox runs.
   *
   * @throws InsufficientResourcesError - GPUs were asked for, or the node cannot hold it now.
   * @throws NotFoundError - There is no such snapshot for this key.
   */
  async create(options: InstanceOptions): Promise<Instance> {
    return this.instance("POST", ["instances"], instanceBody(options));
  }

  /** One instance, with `events` (its last 20 state transitions) and its exposed services. */
  get(instanceId: string): Promise<Instance> {
    return this.instance("GET", ["instances", instanceId]);
  }

  /** This tenant's instances (without events), newest first. */
  async list(options: PageOptions & { state?: InstanceState } = {}): Promise<InstancePage> {
    const query = { state: options.state, limit: options.limit, offset: options.offset };
    return parseInstancePage(await this.http.json({ method: "GET", path: ["instances"], query }));
  }

  /** Stop it for good (stopping a stopped one changes nothing); a paused one's state is freed. */
  stop(instanceId: string): Promise<Instance> {
    return this.instance("POST", ["instances", instanceId, "stop"]);
  }

  /**
   * Checkpoint its processes, memory and files and free its CPU and memory; executions in it
   * throw ConflictError until `resume()`.
   *
   * @throws ConflictError - It is stopped, or it could not be checkpointed.
   */
  pause(instanceId: string): Promise<Instance> {
    return this.instance("POST", ["instances", instanceId, "pause"]);
  }

  /**
   * Restore a paused instance into a new sandbox under the same id.
   *
   * @throws InsufficientResourcesError - The node cannot hold it now (it stays paused).
   */
  resume(instanceId: string): Promise<Instance> {
    return this.instance("POST", ["instances", instanceId, "resume"]);
  }

  /** Run code in the instance, keeping its state (persistent mode). */
  execute(instanceId: string, options: Omit<ExecuteOptions, "instanceId">): Promise<Execution> {
    return this.run({ ...options, instanceId });
  }

  /** Host, port, user and the private key that log in to the running instance. */
  async ssh(instanceId: string): Promise<SshAccess> {
    return parseSshAccess(await this.http.json({ method: "GET", path: ["instances", instanceId, "ssh"] }));
  }

  /** Make the HTTP server on 127.0.0.1:`port` inside reachable through the node's proxy. */
  async expose(instanceId: string, name: string, port: number): Promise<ExposedService> {
    const spec = { method: "POST", path: ["instances", instanceId, "expose"], json: { name, port } } as const;
    return parseExposedService(await this.http.json(spec));
  }

  /** Remove an exposed service; its URL answers 404 from then on. */
  async unexpose(instanceId: string, name: string): Promise<void> {
    await this.http.json({ method: "POST", path: ["instances", instanceId, "unexpose"], json: { name } });
  }

  /** Listen on the node's `localPort` and relay raw TCP to 127.0.0.1:`remotePort` inside. */
  async forwardPort(instanceId: string, localPort: number, remotePort: number): Promise<PortForward> {
    const json = { local_port: localPort, remote_port: remotePort };
    const spec = { method: "POST", path: ["instances", instanceId, "port-forward"], json } as const;
    return parsePortForward(await this.http.json(spec));
  }

  /** The instance's port forwards, by local port. */
  async portForwards(instanceId: string): Promise<PortForward[]> {
    return parsePortForwards(await this.http.json({ method: "GET", path: ["instances", instanceId, "port-forward"] }));
  }

  /** Stop listening on `localPort` and end the connections through it. */
  async removePortForward(instanceId: string, localPort: number): Promise<void> {
    await this.http.json({ method: "DELETE", path: ["instances", instanceId, "port-forward", String(localPort)] });
  }

  /** Start Jupyter inside (python instances; later calls answer the same one). */
  jupyter(instanceId: string): Promise<DevEnvironment> {
    return this.devEnvironment(instanceId, "jupyter");
  }

  /** Start a VNC desktop inside with the noVNC web client (python instances). */
  vnc(instanceId: string): Promise<DevEnvironment> {
    return this.devEnvironment(instanceId, "vnc");
  }

  /** VSCode; a node without code-server refuses it with InvalidRequestError (`details.available`). */
  vscode(instanceId: string): Promise<DevEnvironment> {
    return this.devEnvironment(instanceId, "vscode");
  }

  private async devEnvironment(instanceId: string, kind: DevEnvironment["type"]): Promise<DevEnvironment> {
    return parseDevEnvironment(await this.http.json({ method: "POST", path: ["instances", instanceId, kind] }));
  }

  private async instance(method: "GET" | "POST", path: string[], json?: unknown): Promise<Instance> {
    return parseInstance(await this.http.json({ method, path, json }));
  }
}
