// What every page gets from the shell.
import type { Me } from "./api.js";
import type { UploadPanel } from "./upload-panel.js";

export interface Settings {
  maxObjectBytes: number;
  version: string;
  /** SSE_S3_PORT (0: the S3 API is off). */
  s3Port: number;
}

export interface PageContext {
  me: Me;
  settings: Settings;
  /** Aborted when the user leaves the page: stops polling. */
  signal: AbortSignal;
  uploads: UploadPanel;
}
