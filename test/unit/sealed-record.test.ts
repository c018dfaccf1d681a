// Sealed records under a write's data key: metadata, manifests and part facts.
import { describe, expect, it } from "vitest";
import {
  openJson,
  openRecord,
  type RecordBinding,
  RecordPurpose,
  sealJson,
  sealRecord,
} from "../../src/crypto/sealed-record.js";
import {
  createSegmentCipher,
  FORMAT_VERSION,
  SUITE_AES256GCM,
  SUITE_XCHACHA20_POLY1305,
} from "../../src/crypto/segment-format.js";
import { IntegrityError } from "../../src/errors.js";

const dek = Buffer.alloc(32, 0x44);
const bind: RecordBinding = { owner: "u_alice", objectId: "photos/a.jpg", writeId: Buffer.alloc(16, 0x5a) };

describe("sealed records", () => {
  it("round-trip bytes and JSON, empty included", () => {
    for (const n of [0, 1, 100, 70_000]) {
      const plain = Buffer.alloc(n, 7);
      expect(
        openRecord(dek, bind, RecordPurpose.metadata, sealRecord(dek, bind, RecordPurpose.metadata, plain)),
      ).toEqual(plain);
    }
    const value = { contentType: "image/jpeg", meta: { "x-amz-meta-café": "é" }, md5: "00".repeat(16) };
    expect(
      openJson(dek, bind, RecordPurpose.metadata, sealJson(dek, bind, RecordPurpose.metadata, value)),
    ).toEqual(value);
  });

  it("every flipped bit, and every other binding, purpose or key, fails", () => {
    const sealed = sealRecord(dek, bind, RecordPurpose.manifest, Buffer.from("the parts"));
    for (let i = 0; i < sealed.length; i++) {
      const copy = Buffer.from(sealed);
      copy[i]! ^= 0x01;
      expect(() => openRecord(dek, bind, RecordPurpose.manifest, copy)).toThrow(IntegrityError);
    }
    const wrong: Array<[Buffer, RecordBinding, RecordPurpose]> = [
      [dek, { ...bind, owner: "u_bob" }, RecordPurpose.manifest],
      [dek, { ...bind, objectId: "photos/b.jpg" }, RecordPurpose.manifest],
      [dek, { ...bind, writeId: Buffer.alloc(16, 0x5b) }, RecordPurpose.manifest],
      [dek, bind, RecordPurpose.metadata],
      [Buffer.alloc(32, 0x45), bind, RecordPurpose.manifest],
    ];
    for (const [key, b, purpose] of wrong)
      expect(() => openRecord(key, b, purpose, sealed)).toThrow(IntegrityError);
    expect(() => openRecord(dek, bind, RecordPurpose.manifest, sealed.subarray(0, 10))).toThrow(
      IntegrityError,
    );
  });

  // Records are XChaCha20-Poly1305 under the DEK whatever the write's suite (docs/FORMAT.md).
  it.each([SUITE_XCHACHA20_POLY1305, SUITE_AES256GCM])(
    "never shares a key and nonce with a segment of the same write of suite %i: a record is no segment, and no segment a record",
    (suite) => {
      const plain = Buffer.alloc(20, 1);
      const record = sealRecord(dek, bind, RecordPurpose.metadata, plain);
      const cipher = createSegmentCipher(dek, {
        formatVersion: FORMAT_VERSION,
        suite,
        segmentSize: 64,
        owner: bind.owner,
        objectId: bind.objectId,
        writeId: bind.writeId,
      });
      // The same plaintext under the same key: a shared nonce would show as a shared keystream.
      const segment = cipher.seal(0xffffffff, true, plain);
      expect(record.subarray(1, 21).equals(segment.subarray(0, 20))).toBe(false);
      expect(() => cipher.open(0, true, record.subarray(1))).toThrow(IntegrityError);
      expect(() =>
        openRecord(dek, bind, RecordPurpose.metadata, Buffer.concat([Buffer.of(1), segment])),
      ).toThrow(IntegrityError);
    },
  );

  it("refuses an unknown version byte", () => {
    const sealed = sealRecord(dek, bind, RecordPurpose.part, Buffer.from("x"));
    sealed[0] = 2;
    expect(() => openRecord(dek, bind, RecordPurpose.part, sealed)).toThrow(/unknown sealed record version/);
  });

  // docs/FORMAT.md, "Test vectors".
  it("matches the documented vector", () => {
    const key = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
    const b: RecordBinding = {
      owner: "u_alice",
      objectId: "docs/report.pdf",
      writeId: Buffer.from("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "hex"),
    };
    const sealed = sealRecord(
      key,
      b,
      RecordPurpose.metadata,
      Buffer.from('{"contentType":"application/pdf"}'),
    );
    expect(sealed.toString("hex")).toBe(
      "0139dc44726403393ace5d322e78d2fcafbc99a03e4a0a817534058402a32eb365bb79bdc84bbc37955a2c7121b2ec82b7c6",
    );
  });
});
