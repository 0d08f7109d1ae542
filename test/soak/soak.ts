/**
 * `npm run soak`: the example shop's writers, web-tier reader processes through libs/client with
 * every fill delayed, faults on a schedule, for SOAK_SECONDS (default 1800) on the real stack; a
 * table per fault window and one closing line (README "Soak"). The history is written as JSON
 * lines (SOAK_HISTORY, default .stack/soak-history.jsonl) and judged again from that file.
 * Exits 1 when a read was stale with the version check on.
 */
import { formatFigures } from './history';
import { runSoak, soakOptionsFromEnv } from './run-soak';

async function main(): Promise<void> {
  const options = soakOptionsFromEnv(process.env);
  const result = await runSoak(options);
  console.log(
    `soak: history in ${result.historyFile}; ${result.staleFillsRejected} fills refused, ` +
      `${result.readErrors} reads failed (a store away)`,
  );
  console.log(formatFigures(result.figures));
  if (options.versionCheck && result.figures.stale > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
