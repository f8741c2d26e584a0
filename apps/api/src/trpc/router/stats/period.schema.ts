import { z } from "zod";
import { instantInput } from "../../instant-input.ts";

const DAY = 86_400_000;

/** A period of at most 366 days; by default the 30 days before now. */
export const statsPeriodInput = z
  .object({
    from: instantInput.optional(),
    to: instantInput.optional(),
  })
  .default({})
  .transform(({ from, to }) => {
    const end = to ?? new Date();
    return { from: from ?? new Date(end.getTime() - 30 * DAY), to: end };
  })
  .refine(({ from, to }) => from < to, { message: "from must be before to", path: ["from"] })
  .refine(({ from, to }) => to.getTime() - from.getTime() <= 366 * DAY, {
    message: "the period is at most 366 days",
    path: ["to"],
  });

export type StatsPeriod = z.infer<typeof statsPeriodInput>;
