// Searching by phone number: digits anywhere in it, with or without the leading +.
import { z } from "zod";

export const numberSearchInput = z
  .string()
  .trim()
  .regex(/^\+?[0-9]{3,15}$/, "number search takes 3 to 15 digits")
  .transform((value) => value.replace(/^\+/, ""));
