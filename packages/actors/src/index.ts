export {};
export * from './ring.js';
export * from './doorbell.js';
