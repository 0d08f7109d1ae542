export interface CheckResult {
  check: string;
  pass: boolean;
  /** One line of figures for the table. */
  figures: string;
  ms: number;
  /** Findings and measurements for --json. */
  details: Record<string, unknown>;
}

export async function timedCheck(
  check: string,
  run: () => Promise<Omit<CheckResult, 'check' | 'ms'>>,
): Promise<CheckResult> {
  const started = performance.now();
  try {
    const result = await run();
    return { check, ...result, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      check,
      pass: false,
      figures: `error: ${(error as Error).message}`,
      ms: Math.round(performance.now() - started),
      details: { error: String(error) },
    };
  }
}

export function percentiles(samples: number[]): {
  p50: number;
  p95: number;
  p99: number;
  max: number;
} {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);
  return {
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: Math.round(sorted[sorted.length - 1] ?? 0),
  };
}

export function printTable(results: CheckResult[], out: NodeJS.WritableStream): void {
  const rows = [
    ['check', 'result', 'figures', 'time'],
    ...results.map((r) => [r.check, r.pass ? 'PASS' : 'FAIL', r.figures, `${r.ms} ms`]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  out.write(`${line(rows[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows.slice(1)) out.write(`${line(row)}\n`);
}
