/** Bench options: `--name=value` (what `npm run bench -- <bench> --rate=100` passes on) or `--name value`, and `--flag`. */
const argv = process.argv.slice(2);

export function numberArg(name: string, dflt: number): number {
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return Number(eq.slice(name.length + 3));
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
}

export function flagArg(name: string): boolean {
  return argv.includes(`--${name}`);
}

/** `--name=value` as a string. */
export function stringArg(name: string): string | undefined {
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}
