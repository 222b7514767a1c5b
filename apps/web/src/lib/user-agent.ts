/**
 * Browsers by the token their User-Agent carries, most specific first: Edge, Opera and Samsung
 * Internet also say "Chrome/", and nearly every browser also says "Safari/".
 */
const BROWSERS: [RegExp, string][] = [
  [/\b(?:Edg|EdgA|EdgiOS|Edge)\//, 'Edge'],
  [/\b(?:OPR|OPT|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:Chrome|CriOS|HeadlessChrome)\//, 'Chrome'],
  [/\bChromium\//, 'Chromium'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

/** Systems, most specific first: an iPhone says "like Mac OS X", Android says "Linux". */
const SYSTEMS: [RegExp, string][] = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMacintosh\b|\bMac OS X\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** How much of an unrecognised User-Agent is shown. */
const SHORT_LENGTH = 40;

const first = (table: [RegExp, string][], userAgent: string) =>
  table.find(([pattern]) => pattern.test(userAgent))?.[1];

/**
 * A User-Agent as a person names their device: "Chrome on Linux", "Safari on iPhone". One that
 * is not a known browser on a known system (a script, an app) is shown as sent, cut short.
 */
export function describeUserAgent(userAgent: string | null): string {
  const sent = userAgent?.trim();
  if (!sent) return 'Unknown device';
  const browser = first(BROWSERS, sent);
  const system = first(SYSTEMS, sent);
  if (browser && system) return `${browser} on ${system}`;
  return sent.length > SHORT_LENGTH ? `${sent.slice(0, SHORT_LENGTH - 1).trimEnd()}…` : sent;
}
