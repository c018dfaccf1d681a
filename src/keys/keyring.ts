// The key ring of the file and passphrase providers: its root key versions in guarded memory, their
// checks, and the binary encoding that keeps key bytes out of JavaScript strings.
import { sodium } from "../crypto/sodium.js";
import { isRootVersion } from "./root-wrap-format.js";
import { secretBuffer } from "./sodium-binding.js";

export const ROOT_KEY_BYTES = 32;

export interface RootKeyVersion {
  version: number;
  /** ISO 8601 creation time. */
  created: string;
  /** ROOT_KEY_BYTES of key material, in guarded memory. */
  key: Buffer;
}

export interface Keyring {
  primary: number;
  versions: RootKeyVersion[];
}

export function newRootKeyVersion(version: number): RootKeyVersion {
  const key = secretBuffer(ROOT_KEY_BYTES);
  sodium.randombytes_buf(key);
  return { version, created: new Date().toISOString(), key };
}

/** Decodes strict base64 of exactly `bytes` bytes into guarded memory; undefined when malformed. */
export function secretFromBase64(text: string, bytes: number): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const tmp = Buffer.from(text, "base64");
  try {
    if (tmp.length !== bytes) return undefined;
    const out = secretBuffer(bytes);
    tmp.copy(out);
    return out;
  } finally {
    sodium.sodium_memzero(tmp);
  }
}

export function zeroKeyring(ring: Keyring): void {
  for (const v of ring.versions) sodium.sodium_memzero(v.key);
}

/** Validates a decoded key ring; `what` names the store in the one-line error. */
export function checkKeyring(ring: Keyring, what: string): Keyring {
  if (ring.versions.length === 0) throw new Error(`${what} holds no root key version`);
  const seen = new Set<number>();
  for (const v of ring.versions) {
    if (!isRootVersion(v.version)) throw new Error(`${what} has an invalid root key version number`);
    if (seen.has(v.version)) throw new Error(`${what} lists root key version ${v.version} twice`);
    seen.add(v.version);
    if (v.key.length !== ROOT_KEY_BYTES) throw new Error(`${what} has a root key of the wrong length`);
  }
  if (!seen.has(ring.primary)) throw new Error(`${what} names a primary version it does not hold`);
  ring.versions.sort((a, b) => a.version - b.version);
  return ring;
}

// Binary encoding (used inside the sealed file, so key bytes never become JS strings):
//   u8 1 ‖ u32be primary ‖ u32be count ‖ count × (u32be version ‖ f64be createdMs ‖ 32-byte key)
const RING_ENTRY_BYTES = 4 + 8 + ROOT_KEY_BYTES;

export function encodeKeyringBinary(ring: Keyring): Buffer {
  const out = secretBuffer(9 + ring.versions.length * RING_ENTRY_BYTES);
  out.writeUInt8(1, 0);
  out.writeUInt32BE(ring.primary, 1);
  out.writeUInt32BE(ring.versions.length, 5);
  let off = 9;
  for (const v of ring.versions) {
    out.writeUInt32BE(v.version, off);
    out.writeDoubleBE(Date.parse(v.created), off + 4);
    v.key.copy(out, off + 12);
    off += RING_ENTRY_BYTES;
  }
  return out;
}

export function decodeKeyringBinary(buf: Buffer, what: string): Keyring {
  const bad = () => new Error(`${what} is not valid: malformed key ring`);
  if (buf.length < 9 || buf.readUInt8(0) !== 1) throw bad();
  const count = buf.readUInt32BE(5);
  if (buf.length !== 9 + count * RING_ENTRY_BYTES) throw bad();
  const versions: RootKeyVersion[] = [];
  for (let i = 0, off = 9; i < count; i++, off += RING_ENTRY_BYTES) {
    const created = new Date(buf.readDoubleBE(off + 4));
    if (Number.isNaN(created.getTime())) throw bad();
    const key = secretBuffer(ROOT_KEY_BYTES);
    buf.copy(key, 0, off + 12, off + 12 + ROOT_KEY_BYTES);
    versions.push({ version: buf.readUInt32BE(off), created: created.toISOString(), key });
  }
  return checkKeyring({ primary: buf.readUInt32BE(1), versions }, what);
}
