// The app's validators: JSON bodies strictly typed, query strings and path parameters as Fastify has them.
import AjvCompiler, { type ValidatorFactory } from "@fastify/ajv-compiler";
import AjvModule from "ajv";

// JSON bodies are typed strictly: {"version": "2"} or {"scopes": "read"} is a 422, and so is an
// unknown field. Fastify's default validator coerces types, which query strings and path
// parameters need and bodies must not get, and drops unknown fields silently.
const Ajv = AjvModule.default ?? AjvModule;
const strictAjv = new Ajv({
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
});
const fastifyValidators = AjvCompiler();

/**
 * The app's validator factory (Fastify's `schemaController.compilersFactory.buildValidator`):
 * every route's body through the strict validator above, everything else through Fastify's own
 * (with Fastify's options).
 */
export const buildValidator: ValidatorFactory = (externalSchemas, options) => {
  const fastifyDefault = fastifyValidators(externalSchemas, options);
  return (route) => (route.httpPart === "body" ? strictAjv.compile(route.schema) : fastifyDefault(route));
};
