/** xmldom's internal grammar module (lib/xml.ts memoizes its RegExp builder). */
declare module "@xmldom/xmldom/lib/grammar.js" {
  const grammar: { reg: (...parts: Array<RegExp | string>) => RegExp };
  export default grammar;
}
