// Which connections shutdown may close: those with no request in progress. Node's own
// closeIdleConnections() leaves out a connection that has not yet sent a complete request (a
// client's spare connection, or half a request line): it counts it as busy, so server.close() waited
// for it until the shutdown deadline cut everything (exit 1). Here a connection is quiet when no
// request received on it is still being answered, whatever it has or has not sent since.
import type { Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface QuietConnections {
  /** Closes every connection with no request in progress; the others finish first. */
  closeQuiet(): void;
}

export function trackQuietConnections(server: Server): QuietConnections {
  /** Each open connection, with the number of its requests not yet answered. */
  const open = new Map<Socket, number>();
  server.on("connection", (socket: Socket) => {
    open.set(socket, 0);
    socket.once("close", () => open.delete(socket));
  });
  server.on("request", (req, res: ServerResponse) => {
    const socket = req.socket;
    open.set(socket, (open.get(socket) ?? 0) + 1);
    // 'close' follows 'finish', and also comes when the connection dies first.
    res.once("close", () => {
      const n = open.get(socket);
      if (n !== undefined) open.set(socket, n - 1);
    });
  });
  return {
    closeQuiet() {
      for (const [socket, busy] of open) if (busy <= 0) socket.destroy();
    },
  };
}
