// The command-line tools' arguments: every option a string, read by zod; a wrong one ends
// the process with exit code 2, the reason and the usage line.
import { parseArgs } from "node:util";
import type { z } from "zod";

export function readCliArgs<Schema extends z.ZodType>(
  command: string,
  usage: string,
  schema: Schema,
  options: readonly string[],
): z.infer<Schema> {
  const refuse = (message: string): never => {
    console.error(`${command}: ${message}\n${usage}`);
    process.exit(2);
  };
  let values: Record<string, unknown> = {};
  try {
    values = parseArgs({
      options: Object.fromEntries(options.map((name) => [name, { type: "string" as const }])),
      args: process.argv.slice(2).filter((arg) => arg !== "--"),
    }).values;
  } catch (error) {
    refuse((error as Error).message);
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) refuse(parsed.error.issues.map((issue) => issue.message).join("; "));
  return (parsed as { data: z.infer<Schema> }).data;
}
