// The S3 listener's actions in the audit log, on SQLite and on PostgreSQL, through the AWS SDK:
// PutObject, CopyObject, DeleteObject, DeleteObjects, CompleteMultipartUpload and a presigned GET
// (SSE_AUDIT_READS) are recorded under the request id the client saw, with the access key's user
// and key id as the actor, each object named by the same HMAC the native API uses; no access key
// secret and no signature appears anywhere in the stored log.
import { rmSync } from "node:fs";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RecordBody } from "../../src/audit/record.js";
import { call, createUser, issueToken } from "../helpers/api-client.js";
import { bodiesOf, type LogStore, newLogStore } from "../helpers/audit-log.js";
import { issueAccessKey } from "../helpers/s3-client-setup.js";
import { type ServerProcess, startServer, tempDir } from "../helpers/server-process.js";

describe.each(["sqlite", "postgres"] as const)("S3 actions in the audit log, on %s", (kind) => {
  let dir: string;
  let store: LogStore;
  let server: ServerProcess | undefined;
  const clients: S3Client[] = [];
  beforeEach(async () => {
    dir = tempDir("sse-e2e-audit-s3-");
    store = await newLogStore(kind, dir);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server?.kill();
    await store.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records each change and presigned read with its user and access key, and no secret or signature", async () => {
    server = await startServer({
      s3: true,
      dataDir: store.dataDir,
      env: { ...store.env, SSE_LOG_LEVEL: "warn", SSE_AUDIT_READS: "true" },
    });
    const t = { url: server.url, token: server.token };
    await createUser(t, "alice");
    const alice = await issueToken(t, "alice");
    const issued = await call(server, "POST", "/users/alice/access-keys", alice.token, { label: "sdk" });
    expect(issued.status, issued.text).toBe(201);
    const { accessKeyId, secretAccessKey } = issued.json as { accessKeyId: string; secretAccessKey: string };
    const client = (secret = secretAccessKey) => {
      const c = new S3Client({
        endpoint: server!.s3Url,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey: secret },
      });
      clients.push(c);
      return c;
    };
    const s3 = client();
    const Bucket = "ledger";
    /** The request id of each S3 action, by what it was. */
    const ids: Record<string, string> = {};
    const send = async <T extends { $metadata: { requestId?: string } }>(what: string, sent: Promise<T>) => {
      const out = await sent;
      ids[what] = out.$metadata.requestId!;
      return out;
    };

    await send("createBucket", s3.send(new CreateBucketCommand({ Bucket })));
    await send("put", s3.send(new PutObjectCommand({ Bucket, Key: "q1.csv", Body: "revenue,100" })));
    await send(
      "copy",
      s3.send(new CopyObjectCommand({ Bucket, Key: "q1-copy.csv", CopySource: `${Bucket}/q1.csv` })),
    );
    await send("putA", s3.send(new PutObjectCommand({ Bucket, Key: "old/a", Body: "a" })));
    // Written through the native API: the S3 delete must name it by the same HMAC.
    expect((await call(server, "PUT", `/data/${Bucket}/old/b`, alice.token, "b")).status).toBe(201);
    await send("delete", s3.send(new DeleteObjectCommand({ Bucket, Key: "q1.csv" })));
    const Objects = [{ Key: "old/a" }, { Key: "old/b" }];
    await send("deleteMany", s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects } })));
    const mpu = await send("create", s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "big.bin" })));
    const upload = { Bucket, Key: "big.bin", UploadId: mpu.UploadId };
    const part = await send(
      "part",
      s3.send(new UploadPartCommand({ ...upload, PartNumber: 1, Body: "one" })),
    );
    const MultipartUpload = { Parts: [{ PartNumber: 1, ETag: part.ETag }] };
    await send("complete", s3.send(new CompleteMultipartUploadCommand({ ...upload, MultipartUpload })));
    // A part copied from an object reads that object: recorded as a read of the source.
    const mpu2 = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "assembled.bin" }));
    await send(
      "partCopy",
      s3.send(
        new UploadPartCopyCommand({
          Bucket,
          Key: "assembled.bin",
          UploadId: mpu2.UploadId,
          PartNumber: 1,
          CopySource: `${Bucket}/q1-copy.csv`,
        }),
      ),
    );
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: "q1-copy.csv" }), {
      expiresIn: 300,
    });
    const signature = new URL(url).searchParams.get("X-Amz-Signature")!;
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    const presigned = await fetch(url);
    expect(await presigned.text()).toBe("revenue,100");
    ids.presignedGet = presigned.headers.get("x-amz-request-id")!;
    // A wrong secret: refused, and the signature it made is no secret of the log's either.
    const wrong = await client("not-the-secret-at-all")
      .send(new GetObjectCommand({ Bucket, Key: "q1-copy.csv" }))
      .then(
        () => null,
        (e: S3ServiceException) => e,
      );
    expect(wrong?.$metadata.httpStatusCode).toBe(403);

    const stored = await store.open();
    const bodies = bodiesOf(await stored.rows());
    const raw = await stored.rawText();
    await stored.close();
    const uid = bodies.find((b) => b.action === "access_key.issue" && b.outcome === "ok")!.actor!.uid!;
    const outcome = (what: string): RecordBody => {
      const found = bodies.filter((b) => b.requestId === ids[what] && b.outcome !== "pending");
      expect(found, what).toHaveLength(1);
      return found[0]!;
    };
    const ref = (b: RecordBody) => b.target!.object!;
    const byS3 = { api: "s3", outcome: "ok", actor: { uid, credential: accessKeyId }, client: "127.0.0.1" };
    const expected: Record<string, [action: string, status: number]> = {
      createBucket: ["bucket.create", 200],
      put: ["object.write", 200],
      copy: ["object.copy", 200],
      putA: ["object.write", 200],
      delete: ["object.delete", 204],
      complete: ["multipart.complete", 200],
      presignedGet: ["object.read", 200],
    };
    for (const [what, [action, status]] of Object.entries(expected)) {
      expect(outcome(what), what).toMatchObject({ ...byS3, action, status, target: { owner: uid } });
      expect(ref(outcome(what)), what).toMatch(/^[0-9a-f]{64}$/);
      if (action !== "object.read")
        expect(
          bodies.filter((b) => b.requestId === ids[what] && b.outcome === "pending"),
          `${what}: its intent`,
        ).toHaveLength(1);
    }
    // UploadPartCopy: a read of its source, its intent recorded before the copy.
    expect(outcome("partCopy")).toMatchObject({ ...byS3, action: "object.read", status: 200, keyVersion: 1 });
    expect(ref(outcome("partCopy"))).toBe(ref(outcome("copy")));
    expect(
      bodies.filter((b) => b.requestId === ids.partCopy && b.outcome === "pending"),
      "the part copy's intent",
    ).toMatchObject([{ action: "object.read", target: { object: ref(outcome("copy")) } }]);
    // One object, one name: the write, the copy's source, the delete.
    expect(ref(outcome("delete"))).toBe(ref(outcome("put")));
    expect(ref(outcome("presignedGet"))).toBe(ref(outcome("copy")));
    expect(ref(outcome("copy"))).not.toBe(ref(outcome("put")));
    expect(outcome("copy").target).toMatchObject({ source: ref(outcome("put")) });
    // Writes name the key version that sealed them.
    for (const what of ["put", "copy", "putA", "complete"]) expect(outcome(what).keyVersion, what).toBe(1);
    // DeleteObjects names each object it deleted, as a delete of each would.
    const nativeB = bodies.find(
      (b) => b.api === "native" && b.action === "object.write" && b.outcome === "ok",
    )!;
    const deletedMany = bodies.filter((b) => b.requestId === ids.deleteMany && b.outcome === "ok");
    expect(deletedMany.map((b) => b.action)).toEqual(["object.delete", "object.delete"]);
    expect(deletedMany.map(ref).sort()).toEqual([ref(outcome("putA")), ref(nativeB)].sort());
    for (const b of deletedMany) expect(b).toMatchObject({ ...byS3, status: 200, target: { owner: uid } });
    // The refused signature: an authentication failure, naming no one's secret.
    expect(bodies.filter((b) => b.requestId === wrong!.$metadata.requestId)).toMatchObject([
      { action: "auth.failure", outcome: "denied", api: "s3" },
    ]);

    const text = JSON.stringify(bodies) + raw;
    // The grep reads the stored events: what they may name is there.
    expect(text).toContain(accessKeyId);
    expect(text).toContain(ids.presignedGet);
    const secrets = { secretAccessKey, signature, adminToken: server.token, aliceToken: alice.token };
    for (const [what, secret] of Object.entries(secrets)) expect(text.includes(secret), what).toBe(false);
    // Object names only as HMACs (the objects table names them; the events do not).
    for (const name of ["q1.csv", "q1-copy.csv", "old/a", "big.bin", "assembled.bin"])
      expect(JSON.stringify(bodies)).not.toContain(name);
  });

  it("with the log required, refuses an S3 change or read it cannot record, before a byte of the object leaves", async () => {
    server = await startServer({
      s3: true,
      dataDir: store.dataDir,
      env: { ...store.env, SSE_LOG_LEVEL: "warn", SSE_AUDIT_REQUIRED: "true", SSE_AUDIT_READS: "true" },
    });
    const credentials = await issueAccessKey(server, "sdk");
    const s3 = new S3Client({
      endpoint: server.s3Url,
      region: "us-east-1",
      forcePathStyle: true,
      credentials,
      // No retries of the 503s: each refusal is one request.
      maxAttempts: 1,
    });
    clients.push(s3);
    const Bucket = "kept";
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutObjectCommand({ Bucket, Key: "a", Body: "the kept bytes" }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: "a" }), { expiresIn: 300 });
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: S3ServiceException) => ({ name: e.name, status: e.$metadata.httpStatusCode }),
      );
    const unavailable = { name: "ServiceUnavailable", status: 503 };
    const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "parts" }));
    const upload = { Bucket, Key: "parts", UploadId: mpu.UploadId };

    const stored = await store.open();
    await stored.failAppends();
    try {
      expect(await refusal(s3.send(new PutObjectCommand({ Bucket, Key: "b", Body: "b" })))).toEqual(
        unavailable,
      );
      expect(await refusal(s3.send(new DeleteObjectCommand({ Bucket, Key: "a" })))).toEqual(unavailable);
      const Delete = { Objects: [{ Key: "a" }] };
      expect(await refusal(s3.send(new DeleteObjectsCommand({ Bucket, Delete })))).toEqual(unavailable);
      expect(await refusal(s3.send(new GetObjectCommand({ Bucket, Key: "a" })))).toEqual(unavailable);
      // A read that fails anyway is an event too: refused the same way, as S3 XML the SDK can read.
      expect(await refusal(s3.send(new GetObjectCommand({ Bucket, Key: "never-written" })))).toEqual(
        unavailable,
      );
      // A part copied from "a" would hold its bytes: refused before the copy, no part is left.
      const copy = new UploadPartCopyCommand({ ...upload, PartNumber: 1, CopySource: `${Bucket}/a` });
      expect(await refusal(s3.send(copy))).toEqual(unavailable);
      // The presigned read, on the wire: the refusal carries nothing of the object.
      const read = await fetch(url);
      const body = await read.text();
      expect(read.status).toBe(503);
      expect(body).toContain("<Code>ServiceUnavailable</Code>");
      expect(body).not.toContain("the kept bytes");
      for (const h of ["etag", "last-modified", "accept-ranges", "x-amz-server-side-encryption"])
        expect(read.headers.get(h), h).toBeNull();
      expect(read.headers.get("x-amz-request-id")).toBeTruthy();
    } finally {
      await stored.repairAppends();
      await stored.close();
    }
    const kept = await s3.send(new GetObjectCommand({ Bucket, Key: "a" }));
    expect(await kept.Body!.transformToString()).toBe("the kept bytes");
    expect(await refusal(s3.send(new GetObjectCommand({ Bucket, Key: "b" })))).toMatchObject({ status: 404 });
    expect((await s3.send(new ListPartsCommand(upload))).Parts ?? []).toEqual([]);
  });
});
