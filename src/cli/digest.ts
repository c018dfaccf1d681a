// The first pass of an upload: SHA-256 of the file, streamed, for the RFC 9530 Content-Digest header.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export async function sha256File(file: string, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest("base64");
}

export const contentDigest = (base64: string) => `sha-256=:${base64}:`;
