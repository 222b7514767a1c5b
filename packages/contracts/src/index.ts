export * from './auth';
export * from './event-data';
export * from './events';
export * from './permissions';
export * from './problem';
export * from './uuid';
export type * as Web from './web';
