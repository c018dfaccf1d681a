// The S3 listener's settings (SSE_S3_*), part of the one table in src/settings.ts.
import type { SettingSpec } from "../config.js";

export const S3_SETTINGS: readonly SettingSpec[] = [
  {
    key: "s3Port",
    env: "SSE_S3_PORT",
    flag: "--s3-port",
    kind: "int",
    default: 9000,
    min: 0,
    max: 65535,
    description: "port of the S3 API, on SSE_HOST (0 turns it off)",
  },
  {
    key: "s3Domain",
    env: "SSE_S3_DOMAIN",
    flag: "--s3-domain",
    kind: "string",
    description: "domain of virtual-hosted-style S3 requests (bucket.DOMAIN); path-style works always",
  },
  {
    key: "s3Region",
    env: "SSE_S3_REGION",
    flag: "--s3-region",
    kind: "string",
    default: "us-east-1",
    description: "the region the S3 API names (requests signed for any region are accepted)",
  },
  {
    key: "s3MultipartTtlSeconds",
    env: "SSE_S3_MULTIPART_TTL",
    flag: "--s3-multipart-ttl",
    kind: "int",
    default: 7 * 24 * 3600,
    min: 60,
    max: 365 * 24 * 3600,
    description:
      "seconds after which an S3 multipart upload never completed is aborted and its parts reclaimed",
  },
];
