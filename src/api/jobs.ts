// /jobs, /jobs/{id} and the routes that start jobs (rewrap, root-key rotation, verify).
import { type Static, Type } from "typebox";
import { DateTime, KnownString, Nullable, StringEnum } from "./fields.js";

/** What a job found (free-form in the document; these are the fields its kinds fill). */
export interface JobResult {
  /** verify, rewrap: the damaged objects (at most 1000 listed), their count, and whether the list is cut. */
  damaged?: { owner: string; id: string; error: string }[];
  damagedCount?: number;
  truncated?: boolean;
  /** root-rotate: the new primary root version and the versions retired. */
  rootVersion?: number;
  retired?: number[];
  /** verify of every user: blob files that no object, part or upload names (garbage the sweep removes). */
  orphanedBlobs?: number;
  orphanedBlobBytes?: number;
  [field: string]: unknown;
}

export const Job = Type.Object({
  id: Type.String(),
  kind: KnownString(["rewrap", "root-rotate", "verify"]),
  state: StringEnum(["running", "done", "failed"]),
  done: Type.Integer({ description: "Items handled so far (objects; key versions for root-rotate)" }),
  total: Type.Integer({ description: "Items expected (grows when more appear while the job runs)" }),
  bytesDone: Type.Optional(
    Type.Integer({
      description: "verify: bytes read and authenticated so far, the object under way included",
    }),
  ),
  bytesTotal: Type.Optional(
    Type.Integer({
      description: "verify: bytes to read (known after a first pass over the metadata; grows like total)",
    }),
  ),
  error: Type.Optional(Type.String({ description: "Why the job failed" })),
  result: Type.Optional(
    Type.Unsafe<JobResult>({
      type: "object",
      additionalProperties: true,
      description:
        "What the job found. verify and rewrap: `{damaged: [{owner, id, error}], damagedCount, truncated}` (at most 1000 listed), and for a verify of every user on the embedded store `orphanedBlobs` and `orphanedBlobBytes` (blob files nothing names; the maintenance sweep removes them); root-rotate: `{rootVersion, retired: [versions]}`",
    }),
  ),
  startedBy: Type.Optional(
    Nullable(
      Type.String({
        description: "The name of the user who started the job (null once that user is deleted)",
      }),
    ),
  ),
  created: DateTime,
  updated: DateTime,
});
export type Job = Static<typeof Job>;

export const JOB_LIST_LIMIT = 1000;

/** GET /jobs: newest first, a page at a time. */
export const JobListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: JOB_LIST_LIMIT, default: 100 }),
    after: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: "The last job of the previous page" }),
    ),
    user: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "Only this user's jobs (admins; a user may name itself)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const JobList = Type.Object({
  jobs: Type.Array(Job),
  next: Nullable(Type.String({ description: "The `after` of the next page; null on the last" })),
});
export type JobList = Static<typeof JobList>;

export const JobAccepted = Type.Object({
  jobId: Type.String({ description: "Follow it at GET /jobs/{jobId}" }),
});
export type JobAccepted = Static<typeof JobAccepted>;

export const JobParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

/** POST /admin/verify: every object, or one user's (no body, null and `{}` mean every object). */
export const VerifyRequest = Nullable(
  Type.Object(
    { user: Type.Optional(Type.String({ description: "Only this user's objects" })) },
    { additionalProperties: false },
  ),
);
export type VerifyRequest = Static<typeof VerifyRequest>;
