// RFC 9530 Content-Digest: a structured-field dictionary of algorithm=:base64:. We check the
// strongest algorithm we know and refuse a header we cannot check, rather than ignore it.
import { AppError } from "../errors.js";

export interface ExpectedDigest {
  algorithm: "sha256" | "sha512";
  value: Buffer;
}

const ALGORITHMS: Record<string, { node: ExpectedDigest["algorithm"]; bytes: number }> = {
  "sha-512": { node: "sha512", bytes: 64 },
  "sha-256": { node: "sha256", bytes: 32 },
};

export function parseContentDigest(header: string | undefined): ExpectedDigest | undefined {
  if (header === undefined) return undefined;
  const found = new Map<string, Buffer>();
  for (const member of header.split(",")) {
    const m = /^\s*([a-z0-9-]+)\s*=\s*:([A-Za-z0-9+/]*={0,2}):\s*$/.exec(member);
    if (!m) throw new AppError("invalid_header", "Content-Digest must look like sha-256=:<base64>:");
    found.set(m[1]!, Buffer.from(m[2]!, "base64"));
  }
  for (const [name, alg] of Object.entries(ALGORITHMS)) {
    const value = found.get(name);
    if (!value) continue;
    if (value.length !== alg.bytes)
      throw new AppError("invalid_header", `Content-Digest ${name} has the wrong length`);
    return { algorithm: alg.node, value };
  }
  throw new AppError("invalid_header", "Content-Digest names no supported algorithm (sha-256, sha-512)");
}
