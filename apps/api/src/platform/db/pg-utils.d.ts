/** node-postgres's own conversion of a parameter to its wire text (the module has no typings). */
declare module 'pg/lib/utils.js' {
  const utils: { prepareValue: (value: unknown) => unknown };
  export default utils;
}
