// Loaded with `node --import` into a child process: records every module the process imports
// (each resolved URL, one a line) in the file RSVP_IMPORT_TRACE names.
import { register } from "node:module";

const file = process.env.RSVP_IMPORT_TRACE;
if (file) {
  const hooks = `
    import { appendFileSync } from "node:fs";
    export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      appendFileSync(${JSON.stringify(file)}, resolved.url + "\\n");
      return resolved;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
