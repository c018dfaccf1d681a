// The audit log's settings (SSE_AUDIT*), part of the one table in src/settings.ts.
import type { SettingSpec } from "../config.js";

export const AUDIT_SETTINGS: readonly SettingSpec[] = [
  {
    key: "audit",
    env: "SSE_AUDIT",
    flag: "--audit",
    kind: "bool",
    default: true,
    description: "keep the tamper-evident audit log of security-relevant actions (docs/AUDIT.md)",
  },
  {
    key: "auditRequired",
    env: "SSE_AUDIT_REQUIRED",
    flag: "--audit-required",
    kind: "bool",
    description:
      "refuse an action (503 audit_unavailable, nothing changed) when its audit event cannot be written (default: true when NODE_ENV=production, else false)",
  },
  {
    key: "auditReads",
    env: "SSE_AUDIT_READS",
    flag: "--audit-reads",
    kind: "bool",
    default: false,
    description: "also record object reads and link downloads in the audit log",
  },
  {
    key: "auditCheckpointSeconds",
    env: "SSE_AUDIT_CHECKPOINT_SECONDS",
    flag: "--audit-checkpoint-seconds",
    kind: "int",
    default: 300,
    min: 1,
    max: 86400,
    description: "seconds between signed audit checkpoints (one is also written at shutdown)",
  },
  {
    key: "auditExport",
    env: "SSE_AUDIT_EXPORT",
    flag: "--audit-export",
    kind: "string",
    description:
      "file (JSON lines, outside the data directory) that every signed audit checkpoint is also appended to",
  },
];
