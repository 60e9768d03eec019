/** One execution's live output over the API's WebSocket: listeners, an async iterator, input and resize. */

import { FaaSConnectionError, FaaSError } from "./errors.js";
import type { CompletedEvent, ErrorEvent, OutputEvent, ProgressEvent, StreamEvent } from "./models.js";
import { connectSocket, type Socket, type SocketOptions } from "./socket.js";
import {
  inputMessage,
  isFinal,
  parseStreamMessage,
  resizeMessage,
  streamClosedError,
  subscribeMessage,
  unsubscribeMessage,
} from "./stream-protocol.js";

/** What each `on()` event passes to its listener. */
export interface StreamListeners {
  output: (data: string, event: OutputEvent) => void;
  progress: (progress: number | null, event: ProgressEvent) => void;
  complete: (exitCode: number | null, event: CompletedEvent) => void;
  /** The execution's error (`cause` is its ErrorEvent), or the stream's own failure (`cause` is a FaaSError). */
  error: (message: string, cause: ErrorEvent | FaaSError) => void;
}

export type StreamEventName = keyof StreamListeners;

/** The end of a stream: its final event, or the error that broke it. */
type Ending = { event: CompletedEvent | ErrorEvent } | { error: FaaSError } | { closed: true };

/**
 * The live output of one execution. It connects and subscribes at once; a late subscriber first
 * gets what was printed already. It ends after a `completed` event or a final `error` event.
 *
 * Events are delivered to `on()` listeners as they arrive and kept for the async iterator until it
 * takes them (`for await (const event of stream)`), so both can be used, and the iterator may start late.
 */
export class ExecutionStream implements AsyncIterable<StreamEvent> {
  readonly executionId: string;
  private readonly listeners: { [K in StreamEventName]: StreamListeners[K][] } = {
    output: [],
    progress: [],
    complete: [],
    error: [],
  };
  private readonly buffered: StreamEvent[] = [];
  private waiting: (() => void)[] = [];
  private ending: Ending | null = null;
  private readonly endings: ((ending: Ending) => void)[] = [];
  private readonly socket: Promise<Socket>;
  private resolveSocket: (socket: Socket) => void = () => {};
  private rejectSocket: (error: FaaSError) => void = () => {};

  constructor(executionId: string, options: SocketOptions) {
    this.executionId = executionId;
    this.socket = new Promise<Socket>((resolve, reject) => {
      this.resolveSocket = resolve;
      this.rejectSocket = reject;
    });
    this.socket.catch(() => {}); // Reported through the listeners, the iterator and finished().
    void this.connect(options);
  }

  /** Add a listener: `output` (data), `progress` (fraction), `complete` (exit code), `error` (message). */
  on<K extends StreamEventName>(event: K, listener: StreamListeners[K]): this {
    this.listeners[event].push(listener);
    return this;
  }

  /** Remove a listener added with `on()`. */
  off<K extends StreamEventName>(event: K, listener: StreamListeners[K]): this {
    const list: StreamListeners[K][] = this.listeners[event];
    const index = list.indexOf(listener);
    if (index >= 0) list.splice(index, 1);
    return this;
  }

  /** Write text to the program's standard input (started `interactive`); `eof` then closes it. */
  async sendInput(data: string, options: { eof?: boolean } = {}): Promise<void> {
    (await this.live()).send(inputMessage(this.executionId, data, options.eof === true));
  }

  /** Resize the program's terminal (started with `tty`). */
  async resize(cols: number, rows: number): Promise<void> {
    (await this.live()).send(resizeMessage(this.executionId, cols, rows));
  }

  /** Stop receiving output and close the stream; the execution keeps running. */
  async unsubscribe(): Promise<void> {
    if (this.ending === null) (await this.live()).send(unsubscribeMessage(this.executionId));
    this.close();
  }

  /** Close the WebSocket; the iterator ends and `finished()` resolves with null. */
  close(): void {
    this.end({ closed: true });
  }

  /**
   * The final event (`completed`, or `error` when the execution failed), or null after `close()`.
   *
   * @throws FaaSError - The stream broke first: wrong key, unknown execution, lost connection.
   */
  finished(): Promise<CompletedEvent | ErrorEvent | null> {
    return new Promise((resolve, reject) => {
      const settle = (ending: Ending): void => {
        if ("error" in ending) reject(ending.error);
        else resolve("event" in ending ? ending.event : null);
      };
      if (this.ending !== null) settle(this.ending);
      else this.endings.push(settle);
    });
  }

  /** The events in order; leaving the loop early (`break`) closes the stream, as with Node's streams. */
  async *[Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    try {
      for (;;) {
        const event = this.buffered.shift();
        if (event !== undefined) {
          yield event;
          continue;
        }
        if (this.ending !== null) {
          if ("error" in this.ending) throw this.ending.error;
          return;
        }
        await new Promise<void>((resolve) => this.waiting.push(resolve));
      }
    } finally {
      this.close();
    }
  }

  /** The open socket, once subscribed; throws once the stream has ended. */
  private async live(): Promise<Socket> {
    const socket = await this.socket;
    if (this.ending !== null) throw new FaaSConnectionError("the stream has ended: nothing more can be sent");
    return socket;
  }

  private async connect(options: SocketOptions): Promise<void> {
    let socket: Socket | null = null;
    let openedEarly = false;
    try {
      socket = await connectSocket(options, {
        open: () => (socket === null ? (openedEarly = true) : this.opened(socket)),
        message: (text) => this.receive(text),
        closed: (code, reason) => this.end({ error: streamClosedError(code, reason) }),
        failed: (error) => this.end({ error }),
      });
    } catch (error) {
      this.end({ error: asFaaSError(error) });
      return;
    }
    if (openedEarly) this.opened(socket);
  }

  private opened(socket: Socket): void {
    if (this.ending !== null) {
      socket.close(); // close() came first.
      return;
    }
    socket.send(subscribeMessage(this.executionId));
    this.resolveSocket(socket);
  }

  private receive(text: string): void {
    if (this.ending !== null) return;
    let event: StreamEvent | null;
    try {
      event = parseStreamMessage(text, this.executionId);
    } catch (error) {
      const why = `the server sent a message that is not JSON: ${text.slice(0, 200)}`;
      this.end({ error: new FaaSConnectionError(why, { cause: error }) });
      return;
    }
    if (event === null) return;
    this.buffered.push(event);
    this.dispatch(event);
    if (isFinal(event)) this.end({ event: event as CompletedEvent | ErrorEvent });
    this.notify();
  }

  private dispatch(event: StreamEvent): void {
    if (event.type === "output") this.emit("output", event.data, event);
    else if (event.type === "progress") this.emit("progress", event.progress, event);
    else if (event.type === "completed") this.emit("complete", event.exitCode, event);
    else this.emit("error", event.error, event);
  }

  private emit<K extends StreamEventName>(name: K, ...args: Parameters<StreamListeners[K]>): void {
    for (const listener of [...this.listeners[name]]) {
      try {
        (listener as (...values: Parameters<StreamListeners[K]>) => void)(...args);
      } catch (error) {
        // A listener's bug must not break the socket's handler: rethrow it outside, as EventEmitter would.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  private end(ending: Ending): void {
    if (this.ending !== null) return;
    this.ending = ending;
    if ("error" in ending) this.emit("error", ending.error.message, ending.error);
    for (const settle of this.endings.splice(0)) settle(ending);
    this.rejectSocket("error" in ending ? ending.error : new FaaSConnectionError("the stream is closed"));
    this.socket.then(
      (socket) => socket.close(),
      () => {},
    );
    this.notify();
  }

  private notify(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }
}

function asFaaSError(error: unknown): FaaSError {
  if (error instanceof FaaSError) return error;
  return new FaaSConnectionError(`cannot open the stream: ${String(error)}`, { cause: error });
}
