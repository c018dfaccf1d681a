import { killHard } from "./process-control.js";
import type { ServerProcess } from "./server-process.js";
import { getBytes, randomData, sha256 } from "./transfer.js";
import { waitFor } from "./wait-for.js";
// The kill -9 workload shared by the SQLite and PostgreSQL durability tests: clients replace a few
// objects over and over until enough uploads are acknowledged, the server is killed mid-upload,
// and a reader then checks that every object holds a version that may have survived.

export interface UploadedVersion {
  hash: string;
  size: number;
  /** The server answered 2xx for it. */
  acked: boolean;
}

export interface KillWorkload {
  /** Every version sent, per id, in the order sent. */
  versions: Map<string, UploadedVersion[]>;
  /** Failures seen before the kill (there must be none). */
  clientErrors: string[];
}

/**
 * `clients` uploaders each replace three ids (`kill/c<k>/obj<n>`) with random bodies of
 * minBytes..minBytes+spanBytes until `minAcked` uploads are acknowledged (or one fails), then the
 * server is killed with SIGKILL and the uploads still running are cut.
 */
export async function uploadUntilKilled(
  server: ServerProcess,
  o: { clients: number; minAcked: number; minBytes: number; spanBytes: number },
): Promise<KillWorkload> {
  const versions = new Map<string, UploadedVersion[]>();
  const clientErrors: string[] = [];
  let acked = 0;
  let killing = false;
  const client = async (k: number) => {
    for (let n = 0; !killing; n++) {
      // Three ids per client, so that replaces are interrupted too.
      const id = `kill/c${k}/obj${n % 3}`;
      const size = o.minBytes + Math.floor(Math.random() * o.spanBytes);
      const data = randomData(size);
      const v: UploadedVersion = { hash: sha256(data), size, acked: false };
      versions.set(id, [...(versions.get(id) ?? []), v]);
      try {
        const res = await server.fetch(`/data/${id}`, { method: "PUT", body: data });
        await res.arrayBuffer();
        if (res.status === 200 || res.status === 201) {
          v.acked = true;
          acked++;
        } else if (!killing) clientErrors.push(`PUT ${id} → ${res.status}`);
      } catch (err) {
        if (!killing) clientErrors.push(`PUT ${id}: ${String(err)}`);
        return;
      }
    }
  };
  const clients = Array.from({ length: o.clients }, (_, k) => client(k));
  await waitFor(`${o.minAcked} acknowledged uploads`, () => acked >= o.minAcked || clientErrors.length > 0, {
    timeoutMs: 90_000,
  });
  killing = true;
  await killHard(server);
  await Promise.all(clients);
  return { versions, clientErrors };
}

/**
 * Reads every id of `versions` from `reader`: each must be gone only if no version was
 * acknowledged, and otherwise hold the last acknowledged version or one written after it whose
 * answer the kill swallowed. Returns what is wrong, and how many ids read back whole.
 */
export async function survivalProblems(
  reader: ServerProcess,
  versions: Map<string, UploadedVersion[]>,
): Promise<{ problems: string[]; checked: number }> {
  const problems: string[] = [];
  let checked = 0;
  for (const [id, list] of versions) {
    const lastAcked = list.map((v) => v.acked).lastIndexOf(true);
    const allowed = new Set(list.slice(Math.max(0, lastAcked)).map((v) => v.hash));
    const { res, bytes } = await getBytes(reader, id);
    if (res.status === 404) {
      if (lastAcked >= 0) problems.push(`${id}: acknowledged but gone`);
      continue;
    }
    if (res.status !== 200) {
      problems.push(`${id}: ${res.status}`);
      continue;
    }
    if (!allowed.has(sha256(bytes)))
      problems.push(`${id}: content is no version that may have survived (${bytes.length} bytes)`);
    checked++;
  }
  return { problems, checked };
}
