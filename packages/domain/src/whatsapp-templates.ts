// WhatsApp templates as Meta knows them: each has a category, and Meta restricts delivery by
// it. Since April 2025 Meta does not deliver marketing templates to US (+1) numbers; Twilio
// reports the attempt as error 63049. CallFlow does not try: such a job goes to SMS.
import { z } from "zod";

export const whatsappCategories = ["utility", "marketing", "authentication"] as const;

export type WhatsAppCategory = (typeof whatsappCategories)[number];

export const whatsappCategorySchema = z.enum(whatsappCategories, {
  error: `The WhatsApp category is "utility", "marketing" or "authentication", as the template was approved.`,
});

/** Why WhatsApp will not deliver a template of this category to this number (E.164), or null. */
export function whatsappRefusalOf(category: WhatsAppCategory, to: string): string | null {
  if (category === "marketing" && to.startsWith("+1")) {
    return "WhatsApp does not deliver marketing templates to +1 numbers (Twilio 63049)";
  }
  return null;
}
