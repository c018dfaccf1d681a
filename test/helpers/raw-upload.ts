// An upload as Python's requests sends one: a Content-Length, no `Expect: 100-continue`, and the whole
// body written (as fast as the server reads it) before the answer is read. It never waits past its
// deadline: `outcome` says whether an answer came, the server closed the connection, or nothing did.
import net from "node:net";

export interface RawUploadResult {
  /** The status of the first response, or null when none arrived. */
  status: number | null;
  /** The first response's body (what arrived of it). */
  body: string;
  /** Body bytes written before the server answered, closed or the deadline passed. */
  sent: number;
  /** Whether the kernel took the whole body before the answer was read (or the connection closed). */
  bodySent: boolean;
  /** The status of the follow-up's answer, or null. */
  followUpStatus: number | null;
  /** answered: a whole response arrived (and the follow-up's, if any); closed: the server closed without one; hung: the deadline passed. */
  outcome: "answered" | "closed" | "hung";
}

export interface RawUploadOptions {
  port: number;
  path: string;
  token: string;
  size: number;
  /** Size of each write (default 64 KiB); a write that does not drain blocks the next one. */
  chunkSize?: number;
  headers?: Record<string, string>;
  /**
   * A request sent on the same connection once the answer has arrived; its answer is awaited too
   * (`followUpStatus`), which shows whether the connection was left usable.
   */
  followUp?: string;
  /** Give up after this long without an answer (default 20 s, the client timeout). */
  timeoutMs?: number;
}

export function rawUpload(opts: RawUploadOptions): Promise<RawUploadResult> {
  const chunk = Buffer.alloc(opts.chunkSize ?? 64 * 1024, 0x5a);
  return new Promise((resolve) => {
    const sock = net.connect(opts.port, "127.0.0.1");
    let data = Buffer.alloc(0);
    let sent = 0;
    let done = false;
    /** Set once the kernel has taken the whole body: only then is the answer read. */
    let bodySent = false;
    const drained = () =>
      new Promise<void>((r) => {
        const go = () => {
          sock.off("drain", go);
          sock.off("close", go);
          r();
        };
        sock.on("drain", go);
        sock.on("close", go);
      });
    const finish = (outcome: RawUploadResult["outcome"]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = data.toString("latin1");
      const first = responseEnd(data);
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      const bodyStart = text.indexOf("\r\n\r\n");
      const second = first < 0 ? "" : text.slice(first);
      resolve({
        status: m ? Number(m[1]) : null,
        body: bodyStart < 0 ? "" : text.slice(bodyStart + 4, first < 0 ? undefined : first),
        followUpStatus: Number(/^HTTP\/1\.1 (\d{3}) /.exec(second)?.[1]) || null,
        sent,
        bodySent,
        outcome,
      });
    };
    const timer = setTimeout(() => finish("hung"), opts.timeoutMs ?? 20_000);
    let followedUp = false;
    /** The first answer (and the follow-up's, when there is one) arrived whole. */
    const whole = () => {
      const first = responseEnd(data);
      if (first < 0) return false;
      return opts.followUp === undefined || responseEnd(data.subarray(first)) >= 0;
    };
    /** Like requests: the answer is read only once the whole body is sent. */
    const readAnswer = () => {
      if (!bodySent) return;
      if (opts.followUp !== undefined && !followedUp && responseEnd(data) >= 0) {
        followedUp = true;
        sock.write(opts.followUp);
      }
      if (whole()) finish("answered");
    };
    sock.on("data", (d: Buffer) => {
      data = Buffer.concat([data, d]);
      readAnswer();
    });
    sock.on("close", () => finish(whole() ? "answered" : "closed"));
    sock.on("error", () => undefined);
    sock.on("connect", async () => {
      const extra = Object.entries(opts.headers ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("");
      sock.write(
        `PUT ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${opts.token}\r\n` +
          `Content-Type: application/octet-stream\r\nContent-Length: ${opts.size}\r\n${extra}\r\n`,
      );
      while (!done && sent < opts.size) {
        const n = Math.min(chunk.length, opts.size - sent);
        const flushed = sock.write(n === chunk.length ? chunk : chunk.subarray(0, n));
        sent += n;
        // Like a blocking sendall(): the next write waits until the server has read this one.
        if (!flushed) await drained();
      }
      if (sock.writableLength > 0) await drained();
      bodySent = !done;
      readAnswer();
    });
  });
}

/** Where the first response in `data` ends (headers and Content-Length bytes of body), or -1. */
function responseEnd(data: Buffer): number {
  const text = data.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return -1;
  const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
  if (len === null) return -1;
  const total = end + 4 + Number(len[1]);
  return data.length >= total ? total : -1;
}
