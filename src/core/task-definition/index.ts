export { prepareTaskDefinitionRegistration } from "./prepare-registration.js";
export type { PreparedTaskDefinition } from "./prepare-registration.js";
export { requiredAttributes } from "./required-attributes.js";
