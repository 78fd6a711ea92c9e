export * from './archives.js';
export * from './compound-sets.js';
export * from './observations.js';
export * from './page.js';
export * from './projects.js';
export * from './targets.js';
export * from './uploads.js';
export * from './users.js';
