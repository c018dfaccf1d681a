// A user's key versions seen together with the objects that use them: the listing, rotation and
// the minimum decryption version, which may only rise past versions no object uses any more.
import { AppError } from "../errors.js";
import type { ObjectStore } from "../store/object-store.js";
import type { KeyService } from "./key-service.js";

export interface KeyVersionInfo {
  version: number;
  created: Date;
  /** Objects whose data key is wrapped by this version. */
  objects: number;
}

export interface KeyInfo {
  primaryVersion: number;
  minDecryptionVersion: number;
  versions: KeyVersionInfo[];
}

export class KeyVersions {
  constructor(
    private readonly keys: KeyService,
    private readonly objects: ObjectStore,
  ) {}

  async info(owner: string): Promise<KeyInfo> {
    const st = await this.keys.state(owner, true);
    const [versions, counts] = await Promise.all([
      this.keys.keyStore.listKekVersions(owner),
      this.objects.countByKekVersion(owner),
    ]);
    return {
      primaryVersion: st.primaryVersion,
      minDecryptionVersion: st.minDecryptionVersion,
      versions: versions.map((v) => ({
        version: v.version,
        created: v.created,
        objects: counts.get(v.version) ?? 0,
      })),
    };
  }

  async rotate(owner: string): Promise<KeyInfo> {
    await this.keys.rotate(owner);
    return this.info(owner);
  }

  /**
   * Versions below `version` stop decrypting and are destroyed. Refused (409) while an object still
   * uses one of them, or when `version` is not between the current minimum and the primary.
   */
  async setMinDecryptionVersion(owner: string, version: number): Promise<KeyInfo> {
    const st = await this.keys.state(owner, true);
    if (version < st.minDecryptionVersion)
      throw new AppError(
        "conflict",
        `the minimum decryption version is ${st.minDecryptionVersion}; it cannot be lowered, the versions below it were destroyed`,
      );
    if (version > st.primaryVersion)
      throw new AppError(
        "conflict",
        `version ${version} does not exist; the primary version is ${st.primaryVersion}`,
      );
    if (version > st.minDecryptionVersion) {
      // The primary was set before this count, so a write still in flight under an older version
      // moves itself to the primary after its commit (ObjectService): none slips past this check.
      const counts = await this.objects.countByKekVersion(owner);
      const inUse = [...counts].filter(([v, n]) => v < version && n > 0).reduce((sum, [, n]) => sum + n, 0);
      if (inUse > 0)
        throw new AppError(
          "key_version_in_use",
          `${inUse} object(s) still use key versions below ${version}; run a rewrap first`,
        );
      await this.keys.retireBelow(owner, version);
    }
    return this.info(owner);
  }
}
