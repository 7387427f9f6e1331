/**
 * Parameters with a default value. xenapi.json drops `param_default`, so the few XAPI declares
 * (ocaml/idl/datamodel*.ml `param_default = Some …`) are listed here; the generator fails if one
 * no longer names a real parameter, so the list cannot rot silently.
 */
export declare const PARAM_DEFAULTS: Record<string, Record<string, string>>;
interface JsonParam {
    name: string;
    type: string;
}
interface JsonMessage {
    name: string;
    params: JsonParam[];
    result: string[];
    errors: {
        name: string;
    }[];
    implicit: boolean;
}
interface JsonField {
    name: string;
    type: string;
    qualifier: string;
    default?: string;
}
interface JsonClass {
    name: string;
    fields: JsonField[];
    messages: JsonMessage[];
    enums: {
        name: string;
        values: {
            name: string;
        }[];
    }[];
}
/** Find `shared/data/xenapi.json` next to the project root or any of its parents (worktrees nest). */
export declare function findXenapiJson(start: string): string;
/** Render the generated module text from the parsed xenapi.json. Deterministic: same input, same bytes. */
export declare function renderSchema(classes: JsonClass[]): string;
export declare function renderFromFile(path: string): string;
export declare const GENERATED_PATH: string;
export {};
//# sourceMappingURL=schema-source.d.ts.map