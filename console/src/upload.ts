// Uploads with XMLHttpRequest: it sends a File straight from disk (the page never holds the bytes)
// and, unlike fetch, reports upload progress.
import { PATHS } from "../../src/api/paths.js";
import { ApiError, bearer, NETWORK_ERROR, type ObjectInfo, problemToError } from "./api.js";

export interface UploadHandle {
  done: Promise<ObjectInfo>;
  abort(): void;
}

export class UploadAborted extends Error {}

/**
 * The object id part for a file name: the name itself (ids take any UTF-8, as S3 keys do), with
 * only control characters, which no id may hold, replaced by _.
 */
export function idForFileName(name: string): string {
  let s = "";
  for (const ch of name) s += ch.charCodeAt(0) < 0x20 ? "_" : ch;
  return s === "" ? "_" : s;
}

export function putFile(
  id: string,
  file: File,
  opts: { replace: boolean; onProgress: (loaded: number, total: number) => void },
): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<ObjectInfo>((resolve, reject) => {
    xhr.open("PUT", PATHS.object(id));
    const token = bearer();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    // Without "replace" an existing object is never overwritten by accident: 412 instead.
    if (!opts.replace) xhr.setRequestHeader("If-None-Match", "*");
    xhr.responseType = "text";
    xhr.upload.addEventListener("progress", (e) =>
      opts.onProgress(e.loaded, e.lengthComputable ? e.total : file.size),
    );
    xhr.addEventListener("load", () => {
      let body: unknown = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch {
        // not JSON: the status speaks for itself
      }
      if (xhr.status === 200 || xhr.status === 201) {
        opts.onProgress(file.size, file.size);
        resolve(body as ObjectInfo);
      } else reject(problemToError(xhr.status, body, xhr.getResponseHeader("Retry-After")));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", NETWORK_ERROR)));
    xhr.addEventListener("abort", () => reject(new UploadAborted("Upload cancelled.")));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
