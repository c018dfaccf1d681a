// Whether the server can listen where it is told to, asked before the stores open: a first start
// creates the root key, the admin and its token file, and a busy port must leave none of them.
import net from "node:net";

/** Why a listen would fail, in the operator's words (the setting to change), or the error as it is. */
export function listenError(err: NodeJS.ErrnoException, host: string, port: number, setting: string): Error {
  const where = `${host}:${port}`;
  switch (err.code) {
    case "EADDRINUSE":
      return new Error(`port ${port} on ${host} is already in use by another process (${setting})`);
    case "EACCES":
      return new Error(`no permission to listen on ${where}: ports below 1024 need privileges (${setting})`);
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new Error(`${host} is not an address of this machine (SSE_HOST)`);
    default:
      return err;
  }
}

/**
 * Binds host:port and lets it go at once; rejects with listenError when that fails. Port 0 (any
 * free port) is always free. A process that takes the port between this check and the real listen
 * still makes the start fail, only later.
 */
export function checkCanListen(host: string, port: number, setting = "SSE_PORT"): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once("error", (err: NodeJS.ErrnoException) => reject(listenError(err, host, port, setting)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
