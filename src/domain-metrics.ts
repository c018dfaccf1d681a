// What the domain reports for monitoring. The HTTP layer implements it with prom-client; the
// domain only sees this interface, so it stays free of any metrics library.

/** interrupted: stopped before its end (shutdown, lost lease); another worker resumes it. */
export type JobOutcome = "done" | "failed" | "interrupted";

export interface DomainMetrics {
  /** Stored data, a wrapped key or a segment failed authentication. */
  integrityFailure(): void;
  /** An object or item was committed. */
  objectStored(created: boolean, bytes: number): void;
  objectDeleted(): void;
  jobStarted(kind: string): void;
  jobFinished(kind: string, outcome: JobOutcome): void;
}

export const NO_METRICS: DomainMetrics = {
  integrityFailure() {},
  objectStored() {},
  objectDeleted() {},
  jobStarted() {},
  jobFinished() {},
};
