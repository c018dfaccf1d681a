// Download-link tokens: the claims a link carries (owner, object, the write it was made for, the
// API token that made it, the key version that signs it, the expiry) and their byte layout. Pure:
// the MAC is computed by the service that makes and checks links (download-link-service.ts), so
// this file holds no key.

export const LINK_FORMAT_VERSION = 1;
const MAC_BYTES = 32;
/** The MAC covers this label too, so a link MAC can never be confused with another keyed hash. */
const MAC_LABEL = Buffer.from("sse-link-v1\0", "ascii");
const MAX_TOKEN_CHARS = 4096;
const MAX_U32 = 0xffffffff;

export interface LinkClaims {
  /** uid of the object's owner. */
  owner: string;
  objectId: string;
  /** The object's ETag when the link was made: unique per write, so a replaced object kills the link. */
  etag: string;
  /** Id of the API token that made the link: revoking it revokes its links. */
  tokenId: string;
  /** Version of the owner's KEK whose subkey signs the link. */
  kekVersion: number;
  /** Unix time in seconds after which the link is refused. */
  expiresAt: number;
}

export interface OpenedLink {
  claims: LinkClaims;
  /** The bytes the MAC covers. */
  signed: Buffer;
  mac: Buffer;
}

function short(s: string, what: string): Buffer {
  const b = Buffer.from(s, "utf8");
  if (b.length === 0 || b.length > 255) throw new RangeError(`${what} must be 1 to 255 bytes`);
  return Buffer.concat([Buffer.of(b.length), b]);
}

/** The signed part of a link: version ‖ kekVersion ‖ expiresAt ‖ owner ‖ tokenId ‖ etag ‖ objectId. */
export function encodeClaims(c: LinkClaims): Buffer {
  if (!Number.isInteger(c.kekVersion) || c.kekVersion < 1 || c.kekVersion > MAX_U32)
    throw new RangeError("kekVersion out of range");
  if (!Number.isInteger(c.expiresAt) || c.expiresAt < 0 || c.expiresAt > MAX_U32)
    throw new RangeError("expiresAt out of range");
  const head = Buffer.alloc(9);
  head.writeUInt8(LINK_FORMAT_VERSION, 0);
  head.writeUInt32BE(c.kekVersion, 1);
  head.writeUInt32BE(c.expiresAt, 5);
  const id = Buffer.from(c.objectId, "utf8");
  if (id.length === 0 || id.length > 0xffff) throw new RangeError("objectId must be 1 to 65535 bytes");
  const idLen = Buffer.alloc(2);
  idLen.writeUInt16BE(id.length);
  return Buffer.concat([
    head,
    short(c.owner, "owner"),
    short(c.tokenId, "tokenId"),
    short(c.etag, "etag"),
    idLen,
    id,
  ]);
}

/** What the MAC is computed over. */
export function macInput(signed: Buffer): Buffer {
  return Buffer.concat([MAC_LABEL, signed]);
}

/** The URL-safe token: base64url(signed ‖ mac). */
export function sealToken(signed: Buffer, mac: Buffer): string {
  if (mac.length !== MAC_BYTES) throw new RangeError(`mac must be ${MAC_BYTES} bytes`);
  return Buffer.concat([signed, mac]).toString("base64url");
}

/** Parses a token without verifying it; null for anything that is not exactly a v1 token. */
export function openToken(token: string): OpenedLink | null {
  if (token.length === 0 || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const raw = Buffer.from(token, "base64url");
  // Only the canonical encoding: any other spelling of the same bytes counts as tampering.
  if (raw.toString("base64url") !== token) return null;
  if (raw.length < 9 + MAC_BYTES) return null;
  const signed = raw.subarray(0, raw.length - MAC_BYTES);
  const mac = raw.subarray(raw.length - MAC_BYTES);
  if (signed.readUInt8(0) !== LINK_FORMAT_VERSION) return null;
  const kekVersion = signed.readUInt32BE(1);
  const expiresAt = signed.readUInt32BE(5);
  let at = 9;
  const field = (lenBytes: 1 | 2): string | null => {
    if (at + lenBytes > signed.length) return null;
    const n = lenBytes === 1 ? signed.readUInt8(at) : signed.readUInt16BE(at);
    at += lenBytes;
    if (n === 0 || at + n > signed.length) return null;
    const s = signed.subarray(at, at + n);
    at += n;
    const text = s.toString("utf8");
    // Reject invalid UTF-8 (it would not round-trip).
    return Buffer.byteLength(text) === n ? text : null;
  };
  const owner = field(1);
  const tokenId = field(1);
  const etag = field(1);
  const objectId = field(2);
  if (owner === null || tokenId === null || etag === null || objectId === null || at !== signed.length)
    return null;
  if (kekVersion < 1) return null;
  return {
    claims: { owner, objectId, etag, tokenId, kekVersion, expiresAt },
    signed: Buffer.from(signed),
    mac: Buffer.from(mac),
  };
}
