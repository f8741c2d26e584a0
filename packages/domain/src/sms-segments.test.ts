import { describe, expect, it } from "vitest";
import { countSmsSegments, type SmsSegments } from "./sms-segments.ts";

const a = (n: number) => "a".repeat(n);

describe("countSmsSegments", () => {
  it.each<[string, string, SmsSegments]>([
    ["empty body", "", { encoding: "GSM-7", characters: 0, segments: 0, perSegment: 160 }],
    [
      "plain English",
      "Sorry we missed your call!",
      { encoding: "GSM-7", characters: 26, segments: 1, perSegment: 160 },
    ],
    ["160 GSM-7 characters", a(160), { encoding: "GSM-7", characters: 160, segments: 1, perSegment: 160 }],
    ["161 GSM-7 characters", a(161), { encoding: "GSM-7", characters: 161, segments: 2, perSegment: 153 }],
    ["306 GSM-7 characters", a(306), { encoding: "GSM-7", characters: 306, segments: 2, perSegment: 153 }],
    ["307 GSM-7 characters", a(307), { encoding: "GSM-7", characters: 307, segments: 3, perSegment: 153 }],
    // Extension characters are ESC + code: two septets each.
    ["extension characters", "[x]{y}^~|\\€", { encoding: "GSM-7", characters: 20, segments: 1, perSegment: 160 }],
    ["form feed", "a\fb", { encoding: "GSM-7", characters: 4, segments: 1, perSegment: 160 }],
    ["80 euro signs", "€".repeat(80), { encoding: "GSM-7", characters: 160, segments: 1, perSegment: 160 }],
    ["81 euro signs", "€".repeat(81), { encoding: "GSM-7", characters: 162, segments: 2, perSegment: 153 }],
    // 306 septets would fit two segments, but the € would straddle the boundary: it moves
    // whole into the second segment and pushes the last character into a third.
    [
      "escape sequence at a boundary",
      `${a(152)}€${a(152)}`,
      { encoding: "GSM-7", characters: 306, segments: 3, perSegment: 153 },
    ],
    ["basic-table symbols", "@£$¥¤§¿¡_\r\n", { encoding: "GSM-7", characters: 11, segments: 1, perSegment: 160 }],
    [
      "Greek capitals in the basic table",
      "ΔΦΓΛΩΠΨΣΘΞ",
      { encoding: "GSM-7", characters: 10, segments: 1, perSegment: 160 },
    ],
    // Spanish: é, ñ, Ñ, ü, ¿, ¡ are in the default alphabet; á, í, ó, ú are not.
    ["Spanish in GSM-7", "¿Qué? ¡Niño, pingüino!", { encoding: "GSM-7", characters: 22, segments: 1, perSegment: 160 }],
    ["Spanish with á", "Llámanos", { encoding: "UCS-2", characters: 8, segments: 1, perSegment: 70 }],
    ["Spanish with í", "Aquí", { encoding: "UCS-2", characters: 4, segments: 1, perSegment: 70 }],
    ["Spanish with ó", "¿Cómo?", { encoding: "UCS-2", characters: 6, segments: 1, perSegment: 70 }],
    ["Spanish with ú", "Menú", { encoding: "UCS-2", characters: 4, segments: 1, perSegment: 70 }],
    ["capital É is in the table", "ÉCOLE", { encoding: "GSM-7", characters: 5, segments: 1, perSegment: 160 }],
    ["capital Ç is in the table", "Ça va", { encoding: "GSM-7", characters: 5, segments: 1, perSegment: 160 }],
    ["small ç is not", "garçon", { encoding: "UCS-2", characters: 6, segments: 1, perSegment: 70 }],
    ["a curly apostrophe is not", "We’ll call", { encoding: "UCS-2", characters: 10, segments: 1, perSegment: 70 }],
    ["a backtick is not", "`code`", { encoding: "UCS-2", characters: 6, segments: 1, perSegment: 70 }],
    ["70 UCS-2 characters", "á".repeat(70), { encoding: "UCS-2", characters: 70, segments: 1, perSegment: 70 }],
    ["71 UCS-2 characters", "á".repeat(71), { encoding: "UCS-2", characters: 71, segments: 2, perSegment: 67 }],
    ["134 UCS-2 characters", "á".repeat(134), { encoding: "UCS-2", characters: 134, segments: 2, perSegment: 67 }],
    // An emoji outside the BMP is a surrogate pair: two UTF-16 code units.
    ["one emoji", "👍", { encoding: "UCS-2", characters: 2, segments: 1, perSegment: 70 }],
    ["35 emoji", "😀".repeat(35), { encoding: "UCS-2", characters: 70, segments: 1, perSegment: 70 }],
    ["36 emoji", "😀".repeat(36), { encoding: "UCS-2", characters: 72, segments: 2, perSegment: 67 }],
    // 134 units would fit two segments, but the pair would be split at unit 67.
    [
      "surrogate pair at a boundary",
      `${a(66)}😀${a(66)}`,
      { encoding: "UCS-2", characters: 134, segments: 3, perSegment: 67 },
    ],
    // One non-GSM character switches the whole body, and extension characters count once.
    ["emoji with GSM text", `Thanks! ${"€"} 👍`, { encoding: "UCS-2", characters: 12, segments: 1, perSegment: 70 }],
  ])("%s", (_name, body, expected) => {
    expect(countSmsSegments(body)).toEqual(expected);
  });
});
