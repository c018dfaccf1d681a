// A pass-through HTTP proxy on loopback that notes each request's method, path and headers before
// forwarding it, bodies streamed both ways untouched: shows what a real client put on the wire (which
// payload mode it signed) while it talks to the real server.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  status?: number;
}

export interface RecordingProxy {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const note: SeenRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers };
    seen.push(note);
    const up = http.request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        // Raw header pairs, so the signed headers reach the server exactly as the client sent them.
        headers: req.rawHeaders,
        agent,
      },
      (upRes) => {
        note.status = upRes.statusCode;
        res.writeHead(upRes.statusCode ?? 502, upRes.rawHeaders);
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.on("error", () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
