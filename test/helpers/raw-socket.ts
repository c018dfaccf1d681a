// Raw TCP exchanges with the server: bytes out, bytes back, and the status codes found in them.
import net from "node:net";
import { waitFor } from "./wait-for.js";

export interface SocketExchange {
  /** Everything the server sent. */
  data: Buffer;
  /** True when the server closed the connection (rather than our deadline). */
  closedByServer: boolean;
}

/**
 * Writes raw bytes over TCP and collects what comes back until the server closes the connection,
 * `until` says enough, or the deadline passes. Never throws on resets.
 */
export function socketExchange(
  port: number,
  payload: (Buffer | string)[],
  opts: { halfClose?: boolean; until?: (data: Buffer) => boolean; timeoutMs?: number } = {},
): Promise<SocketExchange> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const parts: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(parts), closedByServer });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 10_000);
    sock.on("data", (d: Buffer) => {
      parts.push(d);
      if (opts.until?.(Buffer.concat(parts))) finish(false);
    });
    sock.on("close", () => finish(true));
    sock.on("error", () => finish(true));
    sock.on("connect", () => {
      for (const p of payload) sock.write(p);
      if (opts.halfClose) sock.end();
    });
  });
}

/** Status codes of every HTTP response found in a raw byte stream. */
export function statusCodes(data: Buffer): number[] {
  return [...data.toString("latin1").matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

/** A raw TCP connection to drive a request step by step (send, wait for an answer, send more). */
export class RawConnection {
  private readonly sock: net.Socket;
  private readonly parts: Buffer[] = [];
  closed = false;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.sock = net.connect(port, "127.0.0.1");
    this.ready = new Promise((resolve, reject) => {
      this.sock.once("connect", () => resolve());
      this.sock.once("error", reject);
    });
    this.sock.on("data", (d: Buffer) => this.parts.push(d));
    this.sock.on("close", () => {
      this.closed = true;
    });
    this.sock.on("error", () => {
      this.closed = true;
    });
  }

  get data(): Buffer {
    return Buffer.concat(this.parts);
  }

  write(b: Buffer | string): void {
    this.sock.write(b);
  }

  /** Waits until `n` responses have arrived (or the connection closed). */
  async responses(n: number, timeoutMs = 10_000): Promise<number[]> {
    await waitFor(`${n} responses`, () => this.closed || statusCodes(this.data).length >= n, { timeoutMs });
    return statusCodes(this.data);
  }

  destroy(): void {
    this.sock.destroy();
  }
}
