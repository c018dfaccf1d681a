// S3's XML response bodies. Values are escaped for XML 1.0; characters XML 1.0 cannot carry at all
// (C0 controls, U+FFFE/U+FFFF, lone surrogates) become U+FFFD, except under encoding-type=url, where
// the listing fields are percent-encoded and so survive exactly, as in S3.
import { uriEncode } from "./canonical.js";
import { CHECKSUM_NAMES, type ChecksumAlgorithm } from "./checksums.js";

export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

// C0 controls other than tab, LF and CR: XML 1.0 cannot carry them (written as escapes, not literals).
const C0 = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f";
const NEEDS_ESCAPE = new RegExp(`[&<>"'\\t\\n\\r${C0}\\ufffe\\uffff\\ud800-\\udfff]`);
const ESCAPABLE = new RegExp(
  `[&<>"'\\t\\n\\r${C0}\\ufffe\\uffff]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]`,
  "g",
);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  // As numeric references, so that an XML parser's line-end and whitespace rules leave them intact.
  "\t": "&#x9;",
  "\n": "&#xA;",
  "\r": "&#xD;",
};

export function escapeXml(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(ESCAPABLE, (c) => ENTITIES[c] ?? "\ufffd");
}

/** The value of a listing field under encoding-type=url (S3 percent-encodes it; "/" stays). */
export function urlEncodeField(s: string): string {
  return uriEncode(s.replace(LONE_SURROGATE, "\ufffd"), true);
}

type Value = string | number | boolean | Date | undefined | null;

function text(v: Exclude<Value, undefined | null>): string {
  if (v instanceof Date) return v.toISOString();
  return escapeXml(String(v));
}

/** A tiny writer: elements are opened, closed and filled in order; undefined values are left out. */
export class XmlWriter {
  #out = DECLARATION;

  open(name: string, xmlns = false): this {
    this.#out += xmlns ? `<${name} xmlns="${S3_XMLNS}">` : `<${name}>`;
    return this;
  }

  close(name: string): this {
    this.#out += `</${name}>`;
    return this;
  }

  leaf(name: string, v: Value): this {
    if (v === undefined || v === null) return this;
    this.#out += `<${name}>${text(v)}</${name}>`;
    return this;
  }

  text(v: string): this {
    this.#out += escapeXml(v);
    return this;
  }

  /** A list field that encoding-type=url percent-encodes (Key, Prefix, Delimiter, Marker…). */
  name(elementName: string, v: string | undefined, urlEncoded: boolean): this {
    if (v === undefined) return this;
    return this.leaf(elementName, urlEncoded ? urlEncodeField(v) : v);
  }

  empty(name: string, xmlns = false): this {
    this.#out += xmlns ? `<${name} xmlns="${S3_XMLNS}"/>` : `<${name}/>`;
    return this;
  }

  checksums(c: Partial<Record<ChecksumAlgorithm, Buffer | string>> | undefined): this {
    if (!c) return this;
    for (const [a, v] of Object.entries(c) as [ChecksumAlgorithm, Buffer | string][])
      this.leaf(`Checksum${CHECKSUM_NAMES[a]}`, typeof v === "string" ? v : v.toString("base64"));
    return this;
  }

  toString(): string {
    return this.#out;
  }
}

export interface Owner {
  id: string;
  displayName?: string;
}

export function writeOwner(x: XmlWriter, tag: string, o: Owner | undefined): void {
  if (!o) return;
  x.open(tag)
    .leaf("ID", o.id)
    .leaf("DisplayName", o.displayName ?? o.id)
    .close(tag);
}

export interface ErrorBody {
  code: string;
  message: string;
  /** The bucket or key path the request named. */
  resource?: string;
  requestId: string;
  hostId?: string;
  /** Extra child elements (RequestTime, ServerTime, HeadersNotSigned…). */
  fields?: Readonly<Record<string, string>>;
}

export function errorXml(e: ErrorBody): string {
  const x = new XmlWriter().open("Error").leaf("Code", e.code).leaf("Message", e.message);
  for (const [k, v] of Object.entries(e.fields ?? {})) if (/^[A-Za-z][A-Za-z0-9-]*$/.test(k)) x.leaf(k, v);
  return x
    .leaf("Resource", e.resource)
    .leaf("RequestId", e.requestId)
    .leaf("HostId", e.hostId ?? e.requestId)
    .close("Error")
    .toString();
}
