// Expiring, single-object download links: made by an authenticated owner, used by anyone holding
// the URL. Stateless: a link is its signed claims; it is refused once it expires, once the object
// is replaced or deleted, once the API token that made it is revoked, and once the key version
// that signed it is retired or destroyed (user deleted).
import { timingSafeEqual } from "node:crypto";
import { isTokenId } from "../auth/token-format.js";
import { linkMac } from "../crypto/link-mac.js";
import { AppError } from "../errors.js";
import type { KeyService } from "../keys/key-service.js";
import type { AccountStore } from "../store/account-store.js";
import type { ObjectStore } from "../store/object-store.js";
import type { ObjectMeta } from "../store/records.js";
import { encodeClaims, type LinkClaims, macInput, openToken, sealToken } from "./link-token.js";
import { validateObjectId } from "./object-id.js";

export const DEFAULT_LINK_SECONDS = 3600;
export const MAX_LINK_SECONDS = 7 * 24 * 3600;

export interface CreateLinkInput {
  owner: string;
  id: string;
  /** The API token making the link, and when it expires. */
  tokenId: string;
  tokenExpiresAt: Date | null;
  expiresInSeconds?: number;
}

export interface CreatedLink {
  token: string;
  expiresAt: Date;
  meta: ObjectMeta;
}

export class DownloadLinkService {
  readonly #objects: ObjectStore;
  /** For the token that made a link. */
  readonly #accounts: AccountStore;
  readonly #keys: KeyService;
  readonly #now: () => number;

  constructor(objects: ObjectStore, accounts: AccountStore, keys: KeyService, now: () => number = Date.now) {
    this.#objects = objects;
    this.#accounts = accounts;
    this.#keys = keys;
    this.#now = now;
  }

  async create(input: CreateLinkInput): Promise<CreatedLink> {
    validateObjectId(input.id);
    const seconds = input.expiresInSeconds ?? DEFAULT_LINK_SECONDS;
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_LINK_SECONDS)
      throw new AppError(
        "validation_error",
        `expiresInSeconds must be an integer from 1 to ${MAX_LINK_SECONDS}`,
      );
    const meta = await this.#objects.getObject(input.owner, input.id);
    if (!meta) throw new AppError("not_found", `no object with id ${input.id}`);
    const state = await this.#keys.state(input.owner);
    let expiresAt = Math.floor(this.#now() / 1000) + seconds;
    // A link never outlives the token that made it.
    if (input.tokenExpiresAt)
      expiresAt = Math.min(expiresAt, Math.floor(input.tokenExpiresAt.getTime() / 1000));
    const claims: LinkClaims = {
      owner: input.owner,
      objectId: meta.id,
      etag: meta.etag,
      tokenId: input.tokenId,
      kekVersion: state.primaryVersion,
      expiresAt,
    };
    const signed = encodeClaims(claims);
    const mac = await this.#keys.withKek(input.owner, claims.kekVersion, (kek) =>
      linkMac(kek, macInput(signed)),
    );
    return { token: sealToken(signed, mac), expiresAt: new Date(expiresAt * 1000), meta };
  }

  /**
   * The object a link names, or an AppError saying why the link is refused. `find` looks the object
   * up once the link is verified (a download passes ObjectService.findForRead, for one read).
   */
  async resolve(
    token: string,
    find: (owner: string, id: string) => Promise<ObjectMeta | null> = (owner, id) =>
      this.#objects.getObject(owner, id),
  ): Promise<ObjectMeta> {
    const opened = openToken(token);
    if (!opened || !plausibleClaims(opened.claims)) throw invalid("the link is malformed");
    const { claims } = opened;
    // Verify before anything else, so a forged link learns nothing about owners or objects.
    const state = await this.#keys.keyStore.getUserKeyState(claims.owner);
    if (!state) throw invalid("the link's signature does not verify");
    if (claims.kekVersion < state.minDecryptionVersion)
      throw invalid("the key version that signed this link has been retired");
    // Versions above the primary were never made: a forged number, not a missing key.
    if (claims.kekVersion > state.primaryVersion) throw invalid("the link's signature does not verify");
    let expected: Buffer;
    try {
      expected = await this.#keys.withKek(claims.owner, claims.kekVersion, (kek) =>
        linkMac(kek, macInput(opened.signed)),
      );
    } catch (err) {
      // The key went away meanwhile (user deleted, version retired): the link cannot be verified.
      if (err instanceof AppError && (err.code === "not_found" || err.code === "key_destroyed"))
        throw invalid("the link's signature does not verify");
      throw err;
    }
    if (!timingSafeEqual(expected, opened.mac)) throw invalid("the link's signature does not verify");
    if (this.#now() >= claims.expiresAt * 1000)
      throw new AppError(
        "link_expired",
        `the link expired at ${new Date(claims.expiresAt * 1000).toISOString()}`,
      );
    const tok = await this.#accounts.getToken(claims.tokenId);
    if (!tok || tok.uid !== claims.owner || (tok.expiresAt && tok.expiresAt.getTime() <= this.#now()))
      throw invalid("the token that made this link has been revoked or has expired");
    const meta = await find(claims.owner, claims.objectId);
    if (!meta || meta.etag !== claims.etag)
      throw new AppError("object_changed", "the object was replaced or deleted after the link was made");
    return meta;
  }
}

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Claims this server could have signed: a user id as users get them, a token id, an object id. The
 * MAC key is the owner's, so the owner's key is looked up before the MAC can be checked; anything
 * else in a forged link never reaches a store.
 */
function plausibleClaims(c: LinkClaims): boolean {
  if (!UID.test(c.owner) || !isTokenId(c.tokenId) || /[^\x21-\x7e]/.test(c.etag)) return false;
  try {
    validateObjectId(c.objectId);
    return true;
  } catch {
    return false;
  }
}

function invalid(detail: string): AppError {
  return new AppError("invalid_link", detail);
}
