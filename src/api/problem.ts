// The RFC 9457 problem document every error answers with, its `code` one of the catalogue's.
import { type Static, Type } from "typebox";
import { ERROR_CATALOGUE, type ErrorCode } from "../errors.js";
import { StringEnum } from "./fields.js";

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

export const Problem = Type.Object(
  {
    type: Type.String({ format: "uri" }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    code: StringEnum(ERROR_CODES),
    requestId: Type.String(),
  },
  { description: "RFC 9457 problem details with a stable machine code" },
);
export type Problem = Static<typeof Problem>;
