/**
 * "Chrome on Linux" from a browser's user-agent string, for people rather than parsers. Strings
 * that are not a browser's (a SIP client's "Blink 6.0.4 (Linux)", "Herald web") are shown as
 * they are; an unknown browser is "A web browser on …".
 */

const OS: [RegExp, string][] = [
  [/iPhone/, "iPhone"],
  [/iPad/, "iPad"],
  [/Android/, "Android"],
  [/CrOS/, "ChromeOS"],
  [/Windows/, "Windows"],
  [/Mac OS X|Macintosh/, "macOS"],
  [/Linux|X11/, "Linux"],
];

const BROWSERS: [RegExp, string][] = [
  [/Edg(e|A|iOS)?\//, "Edge"],
  [/OPR\/|Opera/, "Opera"],
  [/Firefox\/|FxiOS\//, "Firefox"],
  [/SamsungBrowser\//, "Samsung Internet"],
  [/Chrome\/|Chromium\/|CriOS\//, "Chrome"],
  [/Safari\//, "Safari"],
];

export function friendlyDeviceName(raw: string | undefined): string | undefined {
  const ua = raw?.trim();
  if (!ua) return undefined;
  if (!/^Mozilla\/\d/.test(ua)) return ua;
  const os = OS.find(([re]) => re.test(ua))?.[1];
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1] ?? "A web browser";
  return os ? `${browser} on ${os}` : browser;
}
