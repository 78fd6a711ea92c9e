/**
 * @sciport/core/extract: safe zip and tar(.gz) extraction (Node only). Its libraries (`tar`, `yauzl`,
 * `minizlib`) are optional peer dependencies of `@sciport/core`: the packages that extract (`@sciport/fragalysis`,
 * `@sciport/cli`) depend on them, so a client that never extracts installs none of them.
 */
export * from './files/extract.js';
